"""The RRULE subset: parsing, the cap, and property tests of the expansion.

``dateutil.rrule`` is the oracle on naive wall times (the domain may not import it);
DST properties check the UTC instants against the doctor's wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.series import (
    MAX_OCCURRENCES,
    MAX_SPAN,
    Frequency,
    RecurrenceRule,
    SeriesTooLong,
    expand,
    to_utc,
)

ZONES = ("Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "UTC", "America/Bogota")
HOUR = timedelta(hours=1)

firsts = st.datetimes(
    min_value=datetime(2029, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.none()
).map(lambda d: d.replace(second=0, microsecond=0))
bydays = st.lists(st.integers(0, 6), max_size=7, unique=True).map(tuple)
freqs = st.sampled_from(Frequency)
intervals = st.integers(1, 5)


def oracle(rule: RecurrenceRule, first: datetime, *, until: datetime | None = None) -> list:
    kwargs: dict[str, object] = {
        "dtstart": first,
        "interval": rule.interval,
        "wkst": du.MO,
    }
    if rule.byday:
        kwargs["byweekday"] = rule.byday
    if rule.count is not None:
        kwargs["count"] = rule.count
    if until is not None:
        kwargs["until"] = until
    freq = du.DAILY if rule.freq is Frequency.DAILY else du.WEEKLY
    return list(du.rrule(freq, **kwargs))[:MAX_OCCURRENCES]


def _has_occurrence(rule: RecurrenceRule, first: datetime) -> bool:
    return next(iter(rule.local_dates(first.date())), None) is not None


@settings(max_examples=300, deadline=None)
@given(first=firsts, freq=freqs, interval=intervals, byday=bydays, count=st.integers(1, 52))
def test_count_agrees_with_dateutil(first, freq, interval, byday, count) -> None:
    rule = RecurrenceRule(freq, interval=interval, count=count, byday=byday)
    expected = oracle(rule, first)
    if not expected or expected[-1].date() > first.date() + MAX_SPAN:
        with pytest.raises(InvalidInput):
            expand(rule, first, "UTC", HOUR)
        return
    got = expand(rule, first, "UTC", HOUR)
    assert [o.local_start for o in got] == expected
    assert len(got) == count == len(expected)
    assert [o.index for o in got] == list(range(len(got)))


@settings(max_examples=300, deadline=None)
@given(
    first=firsts,
    freq=freqs,
    interval=intervals,
    byday=bydays,
    days=st.integers(0, 400),
)
def test_until_date_is_inclusive_and_agrees_with_dateutil(first, freq, interval, byday, days):
    until = first.date() + timedelta(days=days)
    rule = RecurrenceRule(freq, interval=interval, until=until, byday=byday)
    expected = list(
        du.rrule(
            du.DAILY if freq is Frequency.DAILY else du.WEEKLY,
            dtstart=first,
            interval=interval,
            wkst=du.MO,
            byweekday=byday or None,
            until=datetime.combine(until, time.max),
        )
    )
    if not expected:
        with pytest.raises(InvalidInput):
            expand(rule, first, "UTC", HOUR)
    elif len(expected) > MAX_OCCURRENCES:
        with pytest.raises(SeriesTooLong):
            expand(rule, first, "UTC", HOUR)
    else:
        got = expand(rule, first, "UTC", HOUR)
        assert [o.local_start for o in got] == expected
        assert all(o.local_start.date() <= until for o in got)


@settings(max_examples=200, deadline=None)
@given(
    first=firsts,
    zone=st.sampled_from(ZONES),
    interval=intervals,
    byday=bydays,
    hours=st.integers(1, 24 * 120),
)
def test_until_utc_instant_bounds_the_series(first, zone, interval, byday, hours) -> None:
    until = to_utc(first, ZoneInfo(zone)) + timedelta(hours=hours)
    rule = RecurrenceRule(Frequency.DAILY, interval=interval, until=until, byday=byday)
    try:
        got = expand(rule, first, zone, HOUR)
    except SeriesTooLong:
        return
    except InvalidInput:
        assert not [
            d
            for d in rule.local_dates(first.date())
            if to_utc(datetime.combine(d, first.time()), ZoneInfo(zone)) <= until
        ]
        return
    assert all(o.slot.start <= until for o in got)
    # The next candidate (if any) is past UNTIL: nothing was dropped.
    rest = [d for d in rule.local_dates(first.date()) if d > got[-1].local_start.date()]
    if rest:
        assert to_utc(datetime.combine(rest[0], first.time()), ZoneInfo(zone)) > until


@settings(max_examples=300, deadline=None)
@given(
    first=firsts,
    zone=st.sampled_from(ZONES),
    freq=freqs,
    interval=intervals,
    byday=bydays,
    count=st.integers(1, 52),
    minutes=st.integers(5, 240),
)
def test_wall_clock_time_is_kept_across_dst(first, zone, freq, interval, byday, count, minutes):
    """Every occurrence starts at the first one's wall time on the doctor's clock, unless
    a spring-forward gap skips that time (then the offset before the gap is used); UTC
    instants strictly increase and each slot has the asked length."""
    rule = RecurrenceRule(freq, interval=interval, count=count, byday=byday)
    if not _has_occurrence(rule, first):
        return
    expected = oracle(rule, first)
    if not expected or expected[-1].date() > first.date() + MAX_SPAN:
        return
    tz = ZoneInfo(zone)
    got = expand(rule, first, zone, timedelta(minutes=minutes))
    for occurrence in got:
        assert occurrence.slot.duration == timedelta(minutes=minutes)
        assert occurrence.slot.start.tzinfo is UTC
        seen = occurrence.slot.start.astimezone(tz).replace(tzinfo=None)
        if seen != occurrence.local_start:
            # Only in a gap: the wall time does not exist, and the jump moves it forward.
            assert seen > occurrence.local_start
            gap = occurrence.local_start.replace(tzinfo=tz, fold=0)
            assert gap.utcoffset() != gap.replace(fold=1).utcoffset()
    starts = [o.slot.start for o in got]
    assert starts == sorted(set(starts))


def test_weekly_across_the_spring_change_keeps_nine_oclock_madrid() -> None:
    rule = RecurrenceRule.parse("FREQ=WEEKLY;COUNT=3")
    got = expand(rule, datetime(2030, 3, 24, 9, 0), "Europe/Madrid", timedelta(minutes=30))
    # 2030-03-31 is the change to summer time: 09:00 CET is 08:00Z, then 07:00Z.
    assert [o.slot.start for o in got] == [
        datetime(2030, 3, 24, 8, tzinfo=UTC),
        datetime(2030, 3, 31, 7, tzinfo=UTC),
        datetime(2030, 4, 7, 7, tzinfo=UTC),
    ]


def test_a_skipped_wall_time_uses_the_offset_before_the_gap() -> None:
    rule = RecurrenceRule.parse("FREQ=DAILY;COUNT=2")
    got = expand(rule, datetime(2030, 3, 30, 2, 30), "Europe/Madrid", HOUR)
    assert got[1].slot.start == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)  # 03:30 CEST


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FREQ=WEEKLY;COUNT=10", "FREQ=WEEKLY;COUNT=10"),
        (
            "rrule:freq=weekly;interval=2;byday=th,mo;count=4",
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=MO,TH",
        ),
        ("FREQ=DAILY;UNTIL=20300131", "FREQ=DAILY;UNTIL=20300131"),
        ("FREQ=DAILY;UNTIL=20300131T090000Z;WKST=MO", "FREQ=DAILY;UNTIL=20300131T090000Z"),
        ("FREQ=DAILY;UNTIL=20300131T090000", "FREQ=DAILY;UNTIL=20300131T090000"),
    ],
)
def test_parse_and_canonical_text(text: str, expected: str) -> None:
    rule = RecurrenceRule.parse(text)
    assert str(rule) == expected
    assert RecurrenceRule.parse(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("FREQ=MONTHLY;COUNT=2", "DAILY or WEEKLY"),
        ("FREQ=WEEKLY", "needs an end"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20300101", "not both"),
        ("FREQ=WEEKLY;COUNT=2;BYMONTH=1", "BYMONTH"),
        ("FREQ=WEEKLY;COUNT=2;BYDAY=1MO", "plain weekdays"),
        ("FREQ=WEEKLY;COUNT=0", "at least 1"),
        ("FREQ=WEEKLY;COUNT=-1", "whole number"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=2", "INTERVAL"),
        ("FREQ=WEEKLY;COUNT=2;COUNT=3", "twice"),
        ("FREQ=WEEKLY;COUNT=2;WKST=SU", "WKST"),
        ("FREQ=WEEKLY;UNTIL=2030-01-01", "UNTIL"),
        ("COUNT=2", "FREQ is required"),
        ("FREQ", "NAME=VALUE"),
    ],
)
def test_bad_rules_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as refused:
        RecurrenceRule.parse(text)
    assert refused.value.field == "rrule"


def test_the_cap_is_a_clear_error() -> None:
    with pytest.raises(SeriesTooLong, match="at most 52"):
        expand(RecurrenceRule.parse("FREQ=WEEKLY;COUNT=53"), datetime(2030, 1, 7, 9), "UTC", HOUR)
    with pytest.raises(SeriesTooLong):
        expand(
            RecurrenceRule.parse("FREQ=DAILY;UNTIL=20300401"),
            datetime(2030, 1, 7, 9),
            "UTC",
            HOUR,
        )
    assert (
        len(
            expand(
                RecurrenceRule.parse("FREQ=WEEKLY;COUNT=52"), datetime(2030, 1, 7, 9), "UTC", HOUR
            )
        )
        == 52
    )


def test_a_rule_that_never_meets_its_byday_is_refused() -> None:
    rule = RecurrenceRule.parse("FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=3")
    with pytest.raises(InvalidInput, match="no occurrence"):
        expand(rule, datetime(2030, 1, 7, 9), "UTC", HOUR)  # a Monday


def test_until_before_the_first_gives_nothing() -> None:
    rule = RecurrenceRule(Frequency.WEEKLY, until=date(2030, 1, 1))
    with pytest.raises(InvalidInput):
        expand(rule, datetime(2030, 1, 7, 9), "UTC", HOUR)
