"""What a calendar feed carries (``domain.calendar_feeds``), as properties: the window,
how long cancelled visits stay, and a SEQUENCE that only grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.calendar_feeds import (
    AHEAD,
    CANCELLED_KEPT,
    CANCELLED_STATUSES,
    PAST,
    FeedWindow,
    in_feed,
    is_cancelled,
    sequence,
)

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
offsets = st.timedeltas(min_value=-3 * AHEAD, max_value=3 * AHEAD)
statuses = st.sampled_from(list(AppointmentStatus))
live = st.sampled_from([s for s in AppointmentStatus if s not in CANCELLED_STATUSES])
cancelled = st.sampled_from(sorted(CANCELLED_STATUSES))


@given(
    status=statuses,
    start=offsets,
    changed=st.timedeltas(min_value=-3 * AHEAD, max_value=timedelta(0)),
)
def test_nothing_outside_the_window(
    status: AppointmentStatus, start: timedelta, changed: timedelta
) -> None:
    window = FeedWindow.around(NOW)
    starts_at = NOW + start
    if in_feed(status, starts_at=starts_at, updated_at=NOW + changed, now=NOW):
        assert window.start <= starts_at < window.end
        assert NOW - PAST <= starts_at < NOW + AHEAD


@given(
    status=live, start=offsets, changed=st.timedeltas(min_value=-3 * AHEAD, max_value=timedelta(0))
)
def test_live_visits_in_the_window_are_always_there(
    status: AppointmentStatus, start: timedelta, changed: timedelta
) -> None:
    starts_at = NOW + start
    inside = NOW - PAST <= starts_at < NOW + AHEAD
    assert in_feed(status, starts_at=starts_at, updated_at=NOW + changed, now=NOW) == inside


@given(
    status=cancelled,
    start=st.timedeltas(min_value=-PAST, max_value=AHEAD - timedelta(seconds=1)),
    age=st.timedeltas(min_value=timedelta(0), max_value=10 * CANCELLED_KEPT),
)
def test_cancelled_visits_stay_for_a_while_then_leave(
    status: AppointmentStatus, start: timedelta, age: timedelta
) -> None:
    assert is_cancelled(status)
    shown = in_feed(status, starts_at=NOW + start, updated_at=NOW - age, now=NOW)
    assert shown == (age <= CANCELLED_KEPT)


@given(versions=st.lists(st.integers(min_value=0, max_value=10_000), min_size=2, unique=True))
def test_sequence_grows_with_the_version(versions: list[int]) -> None:
    ordered = sorted(versions)
    sequences = [sequence(version) for version in ordered]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(value >= 0 for value in sequences)
