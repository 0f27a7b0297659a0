"""Appointments: booking, the state machine's transitions, reschedule, queries."""
