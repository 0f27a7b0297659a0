"""Small helpers shared by the in-memory repositories."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TypeVar

from hduce.application.ports import Page, PageRequest

T = TypeVar("T")

DEFAULT_PAGE = PageRequest()


def copied(value: T) -> T:
    """A deep copy: stored rows go in and out as copies, so no caller can change
    them behind the unit of work's back."""
    return copy.deepcopy(value)


def paginate(items: Sequence[T], page: PageRequest) -> Page[T]:
    offset = max(page.offset, 0)
    limit = max(page.limit, 0)
    return Page(
        items=list(items[offset : offset + limit]),
        total=len(items),
        limit=page.limit,
        offset=page.offset,
    )


class Repository:
    """Per-transaction hooks the unit of work calls."""

    def validate_commit(self) -> None:
        """Re-check this transaction's writes against what is committed now."""

    def reset(self) -> None:
        """Forget per-transaction state (after commit or rollback)."""
