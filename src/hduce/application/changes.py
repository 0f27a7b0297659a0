"""Partial updates: a field the caller did not send is ``UNCHANGED`` (``None`` clears)."""

from __future__ import annotations

from enum import Enum
from typing import Final, TypeVar

__all__ = ["UNCHANGED", "Unchanged", "changed_fields", "pick"]

T = TypeVar("T")


class Unchanged(Enum):
    """Marks a field the caller did not send (``None`` means "clear it")."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


def pick(current: T, change: T | Unchanged) -> T:
    """``change`` unless the caller did not send the field."""
    return current if isinstance(change, Unchanged) else change


def changed_fields(changes: object) -> list[str]:
    """Names of the fields of a slotted changes dataclass that the caller sent."""
    names: tuple[str, ...] = getattr(type(changes), "__slots__", ())
    return [name for name in names if not isinstance(getattr(changes, name), Unchanged)]
