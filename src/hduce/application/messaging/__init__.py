"""Moving events: the outbox relay, reminders, the handler table, housekeeping."""
