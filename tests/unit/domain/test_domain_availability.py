"""Working hours on the doctor's wall clock, across DST changes, against a brute force.

The brute force walks a slot minute by minute: each minute's UTC instant is turned
into the doctor's local time with zoneinfo, and that wall-clock time must fall inside
one of that local date's intervals (and outside every time off). All bounds are
minute-aligned and both zones change offset on the hour, so minute sampling is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    LocalInterval,
    TimeOff,
    TimeSlot,
    WeeklyHours,
)

MINUTE = timedelta(minutes=1)
DAY_MINUTES = 24 * 60

#: (zone, local date of an offset change): spring forward and fall back in both zones.
DST_CHANGES = [
    ("Europe/Madrid", date(2026, 3, 29)),  # 02:00 -> 03:00 (gap)
    ("Europe/Madrid", date(2026, 10, 25)),  # 03:00 -> 02:00 (fold)
    ("America/New_York", date(2026, 3, 8)),  # 02:00 -> 03:00 (gap)
    ("America/New_York", date(2026, 11, 1)),  # 02:00 -> 01:00 (fold)
]


def hm(minutes: int) -> time:
    """Minutes after midnight as a wall-clock time; 1440 is the midnight that ends a day."""
    return time(0) if minutes == DAY_MINUTES else time(minutes // 60, minutes % 60)


def minutes_of(t: time, *, end: bool = False) -> int:
    return DAY_MINUTES if end and t == time(0) else t.hour * 60 + t.minute


def wall(zone: str, day: date, minute: int, fold: int = 0) -> datetime:
    """The UTC instant at which the wall clock in ``zone`` shows ``day`` + ``minute``."""
    local = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    return local.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def transition(zone: str, day: date) -> datetime:
    """The UTC instant of the offset change on ``day`` (searched hour by hour)."""
    tz = ZoneInfo(zone)
    instant = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=12)
    for _ in range(48):
        if (
            instant.astimezone(tz).utcoffset()
            != (instant + timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            return instant + timedelta(hours=1)
        instant += timedelta(hours=1)
    raise AssertionError(f"no offset change in {zone} on {day}")


# ------------------------------------------------------------------ brute force


def _intervals_on(availability: DoctorAvailability, day: date) -> list[LocalInterval]:
    return [
        *availability.weekly.for_weekday(day.weekday()),
        *(extra.interval for extra in availability.extra_hours if extra.on == day),
    ]


def minute_is_working(availability: DoctorAvailability, instant: datetime) -> bool:
    if any(off.slot.contains_instant(instant) for off in availability.time_off):
        return False
    local = instant.astimezone(ZoneInfo(availability.timezone))
    now = local.hour * 60 + local.minute
    return any(
        minutes_of(i.start) <= now < minutes_of(i.end, end=True)
        for i in _intervals_on(availability, local.date())
    )


def brute_covers(availability: DoctorAvailability, slot: TimeSlot) -> bool:
    instant = slot.start
    while instant < slot.end:
        if not minute_is_working(availability, instant):
            return False
        instant += MINUTE
    return True


# ------------------------------------------------------------------ strategies

#: Interval bounds in minutes; often in the 00:00-04:00 hours where DST gaps and folds are.
bound = st.one_of(
    st.integers(0, DAY_MINUTES),
    st.integers(0, 4 * 60),
    st.sampled_from([0, 60, 120, 150, 180, 240, 540, 780, DAY_MINUTES]),
)


@st.composite
def day_intervals(draw: st.DrawFn) -> tuple[LocalInterval, ...]:
    """Non-overlapping (possibly touching) intervals of one day."""
    points = sorted(draw(st.sets(bound, max_size=6)))
    chosen = draw(st.lists(st.booleans(), min_size=len(points), max_size=len(points)))
    return tuple(
        LocalInterval(hm(a), hm(b))
        for (a, b), keep in zip(pairwise(points), chosen, strict=False)
        if keep
    )


@dataclass(frozen=True)
class Case:
    zone: str
    change_day: date
    availability: DoctorAvailability


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone, change_day = draw(st.sampled_from(DST_CHANGES))
    weekly = WeeklyHours({weekday: draw(day_intervals()) for weekday in range(7)})
    extra: tuple[ExtraHours, ...] = ()
    if draw(st.booleans()):
        start = draw(st.integers(0, DAY_MINUTES - 1))
        end = draw(st.integers(start + 1, DAY_MINUTES))
        extra = (ExtraHours(change_day, LocalInterval(hm(start), hm(end))),)
    around = transition(zone, change_day)
    time_off = tuple(
        TimeOff(TimeSlot.of(around + offset * MINUTE, length * MINUTE))
        for offset, length in draw(
            st.lists(st.tuples(st.integers(-36 * 60, 36 * 60), st.integers(1, 240)), max_size=2)
        )
    )
    return Case(zone, change_day, DoctorAvailability(zone, weekly, extra, time_off))


@st.composite
def slots_for(draw: st.DrawFn, case: Case) -> TimeSlot:
    around = transition(case.zone, case.change_day)
    kind = draw(st.sampled_from(["anywhere", "straddling", "wall-clock"]))
    if kind == "anywhere":
        start = around + draw(st.integers(-30 * 60, 30 * 60)) * MINUTE
        return TimeSlot.of(start, draw(st.integers(1, 600)) * MINUTE)
    if kind == "straddling":  # contains the instant of the offset change
        before, after = draw(st.integers(1, 300)), draw(st.integers(1, 300))
        return TimeSlot(around - before * MINUTE, around + after * MINUTE)
    # A slot drawn on the wall clock inside a working interval: often covered, and
    # right at the DST hours whenever the interval is there.
    day = case.change_day + timedelta(days=draw(st.integers(-1, 1)))
    intervals = _intervals_on(case.availability, day) or [LocalInterval(time(1), time(4))]
    interval = draw(st.sampled_from(intervals))
    lo, hi = minutes_of(interval.start), minutes_of(interval.end, end=True)
    a = draw(st.integers(lo, hi - 1))
    b = draw(st.integers(a + 1, hi))
    start, end = wall(case.zone, day, a, draw(st.integers(0, 1))), wall(case.zone, day, b)
    if end <= start:  # a gap or fold turned the wall-clock interval around
        start, end = end, start + MINUTE
    return TimeSlot(start, end)


# ------------------------------------------------------------------ properties


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_covers_agrees_with_the_minute_by_minute_wall_clock(data: st.DataObject) -> None:
    case = data.draw(cases(), label="case")
    slot = data.draw(slots_for(case), label="slot")
    expected = brute_covers(case.availability, slot)
    event(f"covered: {expected}")
    assert case.availability.covers(slot) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_free_slots_are_covered_and_avoid_busy_time(data: st.DataObject) -> None:
    case = data.draw(cases(), label="case")
    availability = case.availability
    around = transition(case.zone, case.change_day)
    window = TimeSlot(around - timedelta(hours=30), around + timedelta(hours=30))
    length = data.draw(st.integers(5, 180), label="length minutes") * MINUTE
    busy = [
        TimeSlot.of(around + offset * MINUTE, span * MINUTE)
        for offset, span in data.draw(
            st.lists(st.tuples(st.integers(-30 * 60, 30 * 60), st.integers(1, 300)), max_size=4),
            label="busy",
        )
    ]
    not_before = data.draw(
        st.none() | st.integers(-30 * 60, 30 * 60).map(lambda m: around + m * MINUTE),
        label="not_before",
    )

    free = availability.free_slots(window, length=length, busy=busy, not_before=not_before)
    event(f"free slots found: {bool(free)}")

    for slot in free:
        assert slot.duration == length
        assert window.contains(slot)
        assert availability.covers(slot)
        assert brute_covers(availability, slot)
        assert not any(slot.overlaps(b) for b in busy)
        assert not_before is None or slot.start >= not_before
    assert all(a.end <= b.start for a, b in pairwise(free))
    if not busy and not_before is None:
        # Nothing taken away: every working stretch yields as many slots as fit in it.
        assert len(free) == sum(r.duration // length for r in availability.working_ranges(window))


# ------------------------------------------------------------------ worked examples


def madrid_daily(*intervals: LocalInterval) -> DoctorAvailability:
    return DoctorAvailability("Europe/Madrid", WeeklyHours({d: intervals for d in range(7)}))


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_office_hours_follow_the_wall_clock_across_spring_forward() -> None:
    nine_to_one = madrid_daily(LocalInterval(time(9), time(13)))
    # Saturday (CET, UTC+1): 09:00-13:00 is 08:00Z-12:00Z.
    assert nine_to_one.covers(TimeSlot(utc(3, 28, 8), utc(3, 28, 12)))
    # Sunday (CEST, UTC+2): the same wall-clock hours are 07:00Z-11:00Z.
    assert nine_to_one.covers(TimeSlot(utc(3, 29, 7), utc(3, 29, 11)))
    assert not nine_to_one.covers(TimeSlot(utc(3, 29, 8), utc(3, 29, 12)))


def test_an_interval_across_the_gap_is_one_hour_shorter() -> None:
    # 01:30-03:30 on the wall, but 02:00-03:00 never happens on 2026-03-29 in Madrid.
    night = madrid_daily(LocalInterval(time(1, 30), time(3, 30)))
    ranges = night.working_ranges(TimeSlot(utc(3, 28, 22), utc(3, 29, 4)))
    assert ranges == [TimeSlot(utc(3, 29, 0, 30), utc(3, 29, 1, 30))]


def test_an_interval_in_the_fold_happens_twice() -> None:
    # 02:00-03:00 on the wall occurs twice on 2026-10-25 in Madrid (CEST, then CET).
    night = madrid_daily(LocalInterval(time(2), time(3)))
    assert night.covers(TimeSlot(utc(10, 25, 0), utc(10, 25, 2)))
    assert not night.covers(TimeSlot(utc(10, 24, 23, 59), utc(10, 25, 1)))


def test_new_york_fold_repeats_one_in_the_morning() -> None:
    # 01:00-02:00 happens twice on 2026-11-01 in New York: 05:00Z-06:00Z and 06:00Z-07:00Z.
    night = DoctorAvailability(
        "America/New_York",
        WeeklyHours({6: (LocalInterval(time(1), time(2)),)}),  # Sundays only
    )
    assert night.working_ranges(TimeSlot(utc(11, 1, 0), utc(11, 1, 12))) == [
        TimeSlot(utc(11, 1, 5), utc(11, 1, 7))
    ]


def test_free_slots_on_the_spring_forward_day() -> None:
    nine_to_one = madrid_daily(LocalInterval(time(9), time(13)))
    free = nine_to_one.free_slots(
        TimeSlot(utc(3, 29, 0), utc(3, 30, 0)),
        length=timedelta(hours=1),
        busy=[TimeSlot(utc(3, 29, 8, 30), utc(3, 29, 9))],
    )
    assert free == [
        TimeSlot(utc(3, 29, 7), utc(3, 29, 8)),
        TimeSlot(utc(3, 29, 9), utc(3, 29, 10)),
        TimeSlot(utc(3, 29, 10), utc(3, 29, 11)),
    ]


def test_time_off_and_extra_hours() -> None:
    availability = DoctorAvailability(
        "Europe/Madrid",
        WeeklyHours({0: (LocalInterval(time(9), time(13)),)}),  # Mondays
        extra_hours=(ExtraHours(date(2026, 1, 17), LocalInterval(time(10), time(12))),),
        time_off=(TimeOff(TimeSlot(utc(1, 12, 9), utc(1, 12, 10)), "dentist"),),
    )
    assert availability.covers(TimeSlot(utc(1, 17, 9), utc(1, 17, 11)))  # Saturday extra
    assert availability.covers(TimeSlot(utc(1, 12, 8), utc(1, 12, 9)))
    assert not availability.covers(TimeSlot(utc(1, 12, 8, 30), utc(1, 12, 9, 30)))
    assert availability.covers(TimeSlot(utc(1, 12, 10), utc(1, 12, 12)))


def test_free_slots_need_a_positive_length() -> None:
    with pytest.raises(InvalidInput):
        madrid_daily().free_slots(TimeSlot(utc(1, 1, 0), utc(1, 2, 0)), length=timedelta(0))


# ------------------------------------------------------------------ weekly hours


def test_weekly_hours_refuse_overlapping_intervals() -> None:
    with pytest.raises(InvalidInput) as refused:
        WeeklyHours({0: (LocalInterval(time(9), time(13)), LocalInterval(time(12), time(14)))})
    assert "monday" in refused.value.message


def test_weekly_hours_refuse_an_interval_inside_another() -> None:
    with pytest.raises(InvalidInput):
        WeeklyHours({2: (LocalInterval(time(8), time(0)), LocalInterval(time(22), time(23)))})


def test_weekly_hours_accept_touching_intervals_and_sort_them() -> None:
    afternoon, morning = LocalInterval(time(13), time(0)), LocalInterval(time(9), time(13))
    weekly = WeeklyHours({4: (afternoon, morning), 5: ()})
    assert weekly.for_weekday(4) == (morning, afternoon)
    assert weekly.for_weekday(5) == ()


def test_weekly_hours_refuse_a_weekday_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        WeeklyHours({7: (LocalInterval(time(9), time(10)),)})


@pytest.mark.parametrize(
    ("start", "end"), [(time(10), time(9)), (time(10), time(10))], ids=["backwards", "empty"]
)
def test_local_interval_must_start_before_it_ends(start: time, end: time) -> None:
    with pytest.raises(InvalidInput):
        LocalInterval(start, end)


def test_local_interval_ending_at_midnight_runs_to_the_end_of_the_day() -> None:
    whole_day = LocalInterval(time(0), time(0))
    assert whole_day.on(date(2026, 1, 1)) == (datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert LocalInterval(time(22), time(0)).overlaps(LocalInterval(time(23), time(23, 30)))


def test_local_interval_refuses_offsets() -> None:
    with pytest.raises(InvalidInput):
        LocalInterval(time(9, tzinfo=UTC), time(10))
