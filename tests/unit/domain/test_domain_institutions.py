"""Institutions and a doctor's hours at several of them (ADR 0025).

The rule under test: a doctor is in one place at a time, so hours at two places never
overlap; replacing one institution's hours leaves the others' as they were; a visit
takes place at the one institution whose hours cover it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import BusinessRuleViolation, InvalidInput
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.domain.scheduling import (
    DoctorAvailability,
    ExtraHours,
    LocalInterval,
    TimeOff,
    TimeSlot,
    WeeklyHours,
    check_extra_hours_place,
    replace_institution_hours,
)

NORTH = UUID("00000000-0000-7000-8000-00000000000a")
SOUTH = UUID("00000000-0000-7000-8000-00000000000b")
MONDAY = date(2030, 1, 7)


def _address() -> Address:
    return Address(line1="Calle Mayor 1", city="Madrid", country="es")


def hm(minutes: int) -> time:
    return time(0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


def _interval(bounds: tuple[int, int], institution_id: UUID | None = None) -> LocalInterval:
    return LocalInterval(hm(bounds[0]), hm(bounds[1]), institution_id=institution_id)


# Disjoint intervals within one day, in quarter hours.
@st.composite
def day_intervals(draw: st.DrawFn) -> list[tuple[int, int]]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), min_size=0, max_size=8)))
    pairs = [(cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts) - 1, 2)]
    return [p for p in pairs if p[0] < p[1]]


weeks = st.dictionaries(st.integers(0, 6), day_intervals(), max_size=7)


def _week(days: dict[int, list[tuple[int, int]]], institution_id: UUID | None) -> WeeklyHours:
    return WeeklyHours(
        {d: tuple(_interval(b, institution_id) for b in bounds) for d, bounds in days.items()}
    )


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


# ------------------------------------------------------------------ institution values


def test_an_institution_validates_its_zone_kind_name_and_address() -> None:
    made = Institution(uuid4(), "  Hospital Norte ", "hospital", _address(), "Europe/Madrid")  # type: ignore[arg-type]
    assert made.name == "Hospital Norte"
    assert made.kind is InstitutionKind.HOSPITAL
    assert made.address.country == "ES"
    assert made.is_active
    with pytest.raises(InvalidInput) as zone:
        Institution(uuid4(), "X", InstitutionKind.SITE, _address(), "Mars/Olympus")
    assert zone.value.field == "timezone"
    with pytest.raises(InvalidInput) as kind:
        Institution(uuid4(), "X", "spa", _address(), "UTC")  # type: ignore[arg-type]
    assert kind.value.field == "kind"
    with pytest.raises(InvalidInput) as name:
        Institution(uuid4(), " ", InstitutionKind.CLINIC, _address(), "UTC")
    assert name.value.field == "name"
    with pytest.raises(InvalidInput) as country:
        Address(line1="a", city="b", country="Spain")
    assert country.value.field == "address.country"
    with pytest.raises(InvalidInput) as city:
        Address(line1="a", city=" ", country="ES")
    assert city.value.field == "address.city"


# ------------------------------------------------------------------ hours at two places


@given(north=weeks, south=weeks)
def test_hours_at_two_institutions_are_accepted_exactly_when_they_do_not_overlap(
    north: dict[int, list[tuple[int, int]]], south: dict[int, list[tuple[int, int]]]
) -> None:
    start = replace_institution_hours(WeeklyHours(), NORTH, _week(north, None))
    clash = any(
        _overlap(a, b) for day in range(7) for a in north.get(day, []) for b in south.get(day, [])
    )
    if clash:
        with pytest.raises(BusinessRuleViolation) as refused:
            replace_institution_hours(start, SOUTH, _week(south, None))
        assert refused.value.code == "hours-overlap-across-institutions"
        return
    merged = replace_institution_hours(start, SOUTH, _week(south, None))
    for day in range(7):
        at_north = [(i.start, i.end) for i in merged.at(NORTH).for_weekday(day)]
        at_south = [(i.start, i.end) for i in merged.at(SOUTH).for_weekday(day)]
        assert at_north == sorted((hm(a), hm(b)) for a, b in north.get(day, []))
        assert at_south == sorted((hm(a), hm(b)) for a, b in south.get(day, []))
    assert merged.at(None).days == {}


@given(first=weeks, second=weeks, other=weeks)
def test_replacing_one_institutions_hours_keeps_the_others(
    first: dict[int, list[tuple[int, int]]],
    second: dict[int, list[tuple[int, int]]],
    other: dict[int, list[tuple[int, int]]],
) -> None:
    north_only = replace_institution_hours(WeeklyHours(), NORTH, _week(first, None))
    try:
        again = replace_institution_hours(north_only, NORTH, _week(second, None))
    except BusinessRuleViolation:  # pragma: no cover - one place never clashes with itself
        pytest.fail("an institution's new hours clashed with its own old ones")
    assert again.at(NORTH).days == _week(second, NORTH).days
    # A refused change changes nothing: the caller keeps ``north_only``.
    try:
        both = replace_institution_hours(north_only, SOUTH, _week(other, None))
    except BusinessRuleViolation:
        return
    assert both.at(NORTH).days == north_only.at(NORTH).days


@given(north=weeks, south=weeks, minute=st.integers(0, 24 * 60 - 30), weekday=st.integers(0, 6))
def test_a_visit_takes_place_where_the_hours_that_cover_it_are(
    north: dict[int, list[tuple[int, int]]],
    south: dict[int, list[tuple[int, int]]],
    minute: int,
    weekday: int,
) -> None:
    try:
        weekly = replace_institution_hours(
            replace_institution_hours(WeeklyHours(), NORTH, _week(north, None)),
            SOUTH,
            _week(south, None),
        )
    except BusinessRuleViolation:
        return
    availability = DoctorAvailability(timezone="UTC", weekly=weekly)
    day = MONDAY + timedelta(days=weekday)
    start = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(minutes=minute)
    slot = TimeSlot(start, start + timedelta(minutes=30))
    visit = (minute, minute + 30)
    expected = None
    for place, days in ((NORTH, north), (SOUTH, south)):
        if any(a <= visit[0] and visit[1] <= b for a, b in days.get(weekday, [])):
            expected = place
    assert availability.institution_for(slot) == expected
    # Each place's own availability covers the slot only when the visit is there.
    assert availability.at(NORTH).covers(slot) == (expected == NORTH)
    assert availability.at(SOUTH).covers(slot) == (expected == SOUTH)


def test_unassigned_hours_count_as_a_place_of_their_own() -> None:
    legacy = WeeklyHours({0: (LocalInterval(time(9), time(13)),)})
    with pytest.raises(BusinessRuleViolation):
        replace_institution_hours(legacy, NORTH, _week({0: [(12 * 60, 14 * 60)]}, None))
    merged = replace_institution_hours(legacy, NORTH, _week({0: [(13 * 60, 17 * 60)]}, None))
    availability = DoctorAvailability(timezone="Europe/Madrid", weekly=merged)
    nine = datetime(2030, 1, 7, 9, tzinfo=UTC)  # 10:00 in Madrid
    assert availability.institution_for(TimeSlot(nine, nine + timedelta(hours=1))) is None
    two = datetime(2030, 1, 7, 13, tzinfo=UTC)  # 14:00 in Madrid
    assert availability.institution_for(TimeSlot(two, two + timedelta(hours=1))) == NORTH


def test_time_off_is_the_doctors_at_every_institution() -> None:
    weekly = replace_institution_hours(WeeklyHours(), NORTH, _week({0: [(0, 24 * 60)]}, None))
    noon = datetime(2030, 1, 7, 12, tzinfo=UTC)
    off = TimeOff(TimeSlot(noon, noon + timedelta(hours=2)))
    availability = DoctorAvailability(timezone="UTC", weekly=weekly, time_off=(off,))
    assert not availability.at(NORTH).covers(TimeSlot(noon, noon + timedelta(minutes=30)))


def test_extra_hours_may_not_overlap_another_places_hours_that_day() -> None:
    weekly = replace_institution_hours(WeeklyHours(), NORTH, _week({0: [(540, 780)]}, None))
    availability = DoctorAvailability(timezone="UTC", weekly=weekly)
    clash = ExtraHours(MONDAY, LocalInterval(time(12), time(14), institution_id=SOUTH))
    with pytest.raises(BusinessRuleViolation) as refused:
        check_extra_hours_place(availability, clash)
    assert refused.value.code == "hours-overlap-across-institutions"
    # At the same place, or on another day, extra hours are fine.
    check_extra_hours_place(
        availability, ExtraHours(MONDAY, LocalInterval(time(12), time(14), institution_id=NORTH))
    )
    check_extra_hours_place(
        availability,
        ExtraHours(
            MONDAY + timedelta(days=1), LocalInterval(time(12), time(14), institution_id=SOUTH)
        ),
    )
