"""A doctor's availability: working hours, time off, extra hours, free slots."""
