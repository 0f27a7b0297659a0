"""Request and response bodies of the clinic endpoints (msgspec, validated at the edge),
one module per controller module: ``specialties``, ``doctors``, ``patients``, ``schedule``.

Length limits mirror the database columns, so an over-long value is a 400 naming the
field rather than a database error. Partial updates (PATCH) leave out what does not
change; ``null`` clears a field where clearing makes sense.
"""

from __future__ import annotations

from typing import TypeVar

from msgspec import UnsetType

from hduce.application.changes import UNCHANGED, Unchanged

T = TypeVar("T")


def sent(value: T | UnsetType) -> T | Unchanged:
    """A PATCH field: ``UNCHANGED`` when left out of the body (``null`` is a value)."""
    return UNCHANGED if isinstance(value, UnsetType) else value
