"""Paging of the console's long lists: the page asked for, links that keep the
filters, and "my appointments" read newest first from a repository sorted oldest first."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl
from uuid import uuid4

from litestar.datastructures import MultiDict

from hduce.application.ports import AppointmentQuery, Page
from hduce.entrypoints.web.clinic import APPOINTMENTS_PAGE, _newest_first
from hduce.entrypoints.web.paging import Pager, asked_page

T = TypeVar("T")


@dataclass
class _Url:
    path: str


class _Request:
    """What the pager reads of a request: its path and query."""

    def __init__(self, path: str, query: list[tuple[str, str]]) -> None:
        self.url = _Url(path)
        self.query_params = MultiDict(query)


def _request(path: str, **query: str) -> Any:
    return _Request(path, list(query.items()))


def _parts(url: str | None) -> tuple[str, set[tuple[str, str]]]:
    assert url is not None
    path, _, query = url.partition("?")
    return path, set(parse_qsl(query))


def test_the_page_asked_for_is_a_whole_number_from_one() -> None:
    assert asked_page(_request("/admin/users")) == 1
    assert asked_page(_request("/admin/users", page="3")) == 3
    for bad in ("0", "-2", "x", "1e3", "99999999"):
        assert asked_page(_request("/admin/users", page=bad)) == 1


def test_previous_and_next_keep_the_filters_but_not_the_outcome_notice() -> None:
    request = _request("/admin/audit", action="user.login", to="2026-12-01", page="2", done="x")
    pager = Pager.of(request, total=120, size=50)
    assert (pager.number, pager.pages, pager.offset) == (2, 3, 50)
    assert (pager.first_shown, pager.last_shown) == (51, 100)
    assert _parts(pager.previous) == (
        "/admin/audit",
        {("action", "user.login"), ("to", "2026-12-01")},
    )
    assert _parts(pager.next) == (
        "/admin/audit",
        {("action", "user.login"), ("to", "2026-12-01"), ("page", "3")},
    )
    last = Pager.of(_request("/admin/audit", page="3"), total=120, size=50)
    assert last.next is None
    assert (last.first_shown, last.last_shown) == (101, 120)
    only = Pager.of(_request("/admin/users", search="ana"), total=3, size=50)
    assert (only.pages, only.previous, only.next) == (1, None, None)


class _Appointments:
    """``ListAppointments`` over ``count`` appointments, sorted by start as the
    repositories sort them."""

    def __init__(self, count: int) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        self.starts = [start + timedelta(days=i) for i in range(count)]

    async def __call__(self, actor: Any, query: AppointmentQuery) -> Page[Any]:
        chosen = self.starts[query.page.offset : query.page.offset + query.page.limit]
        return Page([_Appointment(s) for s in chosen], len(self.starts), query.page.limit, 0)


@dataclass
class _Appointment:
    starts: datetime
    id: Any = None

    def __post_init__(self) -> None:
        self.id = uuid4()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a thread of its own: in one pytest session with the browser tests,
    Playwright's sync API keeps an event loop running on the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_my_appointments_are_paged_latest_first() -> None:
    listing = _Appointments(APPOINTMENTS_PAGE * 2 + 3)
    first, pager = _run(_newest_first(_request("/appointments"), None, listing))  # type: ignore[arg-type]
    assert [a.starts for a in first] == listing.starts[-APPOINTMENTS_PAGE:]
    assert pager.next == "/appointments?page=2"
    assert pager.previous is None
    third, pager = _run(_newest_first(_request("/appointments", page="3"), None, listing))  # type: ignore[arg-type]
    assert [a.starts for a in third] == listing.starts[:3]
    assert pager.next is None
    assert pager.previous == "/appointments?page=2"
    beyond, _ = _run(_newest_first(_request("/appointments", page="9"), None, listing))  # type: ignore[arg-type]
    assert list(beyond) == []
