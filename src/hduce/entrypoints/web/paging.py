"""Paging of long console lists: ``?page=N`` (1 first), and previous/next links that
keep the page's other query parameters (its filters).

``asked_page(request)`` is the page asked for (its offset: ``(page - 1) * size``);
``Pager.of(request, total, size)`` the same page once the total is known; ``offset`` is what to ask the use case for, and ``_pager.html`` draws the
links (``{% with pager = pager %}{% include "_pager.html" %}{% endwith %}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request

PAGE_PARAM: Final = "page"


def asked_page(request: Request[Any, Any, Any]) -> int:
    """The page number of the query (1 when missing or not a whole number >= 1)."""
    raw = request.query_params.get(PAGE_PARAM) or ""
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


@dataclass(frozen=True, slots=True)
class Pager:
    number: int
    size: int
    total: int
    #: The page's path and its other query parameters, without ``page``.
    base: str
    params: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, request: Request[Any, Any, Any], total: int, size: int) -> Pager:
        params = tuple(
            (key, value)
            for key, value in request.query_params.multi_items()
            if key not in (PAGE_PARAM, "done")
        )
        return cls(asked_page(request), size, total, request.url.path, params)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first_shown(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.size)

    def url(self, number: int) -> str:
        params = [*self.params, *([(PAGE_PARAM, str(number))] if number > 1 else [])]
        return self.base + (f"?{urlencode(params)}" if params else "")

    @property
    def previous(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None


__all__ = ["PAGE_PARAM", "Pager", "asked_page"]
