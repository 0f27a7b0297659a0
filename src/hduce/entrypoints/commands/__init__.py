"""Operational commands attached to the ``hduce`` click group."""
