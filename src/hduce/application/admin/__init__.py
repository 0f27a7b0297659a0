"""The admin's read side: audit trail and clinic statistics."""
