"""Time: slots, working hours in the doctor's timezone, conflicts, booking policy.

All instants are timezone-aware and normalised to UTC. Working hours are wall-clock
times in the doctor's IANA timezone; they are turned into UTC ranges piece by piece
between offset changes, so a day with a DST jump is judged by the wall clock: an
instant is "inside working hours" exactly when the doctor's clock on the wall shows
a time inside one of that local date's intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Protocol, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from hduce.domain.errors import BusinessRuleViolation, InvalidInput

_TICK = timedelta(microseconds=1)


def ensure_utc(instant: datetime, field_name: str = "instant") -> datetime:
    """Refuse naive datetimes (their meaning is a guess) and normalise to UTC."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(
            f"{field_name} must carry a UTC offset (e.g. 2030-01-31T09:00:00+01:00)", field_name
        )
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class TimeSlot:
    """A half-open interval ``[start, end)`` of UTC instants with positive length."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_utc(self.start, "starts_at"))
        object.__setattr__(self, "end", ensure_utc(self.end, "ends_at"))
        if self.end <= self.start:
            raise InvalidInput("a time slot must end after it starts", field="ends_at")

    @classmethod
    def of(cls, start: datetime, length: timedelta) -> TimeSlot:
        return cls(start, start + length)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: TimeSlot) -> bool:
        """Touching slots (one ends when the other starts) do not overlap."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeSlot) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_instant(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


# --------------------------------------------------------------------------- conflicts


class Occupancy(Protocol):
    """What the conflict finder needs to know of an existing appointment."""

    @property
    def id(self) -> UUID: ...
    @property
    def doctor_id(self) -> UUID: ...
    @property
    def patient_id(self) -> UUID: ...
    @property
    def slot(self) -> TimeSlot: ...
    @property
    def is_occupying(self) -> bool: ...


OccupancyT = TypeVar("OccupancyT", bound=Occupancy)


def blocked_range(occupancy: Occupancy) -> TimeSlot:
    """The doctor's time an appointment takes: its visit with the buffers around it
    (``blocked`` on an appointment booked for a visit type; else the visit itself)."""
    blocked = getattr(occupancy, "blocked", None)
    return blocked if isinstance(blocked, TimeSlot) else occupancy.slot


def find_conflicts(
    slot: TimeSlot,
    *,
    doctor_id: UUID,
    patient_id: UUID,
    existing: Iterable[OccupancyT],
    ignore: Iterable[UUID] = (),
    blocked: TimeSlot | None = None,
) -> list[OccupancyT]:
    """Every occupying appointment that overlaps ``slot`` for the doctor or the patient.

    The doctor's side compares blocked ranges (visit plus buffers, ``blocked`` being
    the new visit's, ``slot`` when it has no buffers): buffers are the doctor's time.
    The patient's side compares the visits themselves. ``ignore`` lists appointments
    that do not count (the one being approved or rescheduled). The result is sorted
    by start, then id, and has no duplicates.
    """
    ignored = set(ignore)
    doctor_range = blocked if blocked is not None else slot
    found = {
        other.id: other
        for other in existing
        if other.id not in ignored
        and other.is_occupying
        and (
            (other.doctor_id == doctor_id and blocked_range(other).overlaps(doctor_range))
            or (other.patient_id == patient_id and other.slot.overlaps(slot))
        )
    }
    return sorted(found.values(), key=lambda o: (o.slot.start, str(o.id)))


# ------------------------------------------------------------------------ working hours


@dataclass(frozen=True, slots=True, order=True)
class LocalInterval:
    """Wall-clock ``[start, end)`` within one local date. ``end == 00:00`` means midnight.

    ``institution_id``: where the doctor works these hours (``None``: unassigned, as
    every interval was before institutions, ADR 0025). It takes no part in ordering or
    equality: two intervals at the same times are the same time of the doctor's.
    """

    start: time
    end: time
    institution_id: UUID | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidInput("working hours are wall-clock times without an offset")
        if self.end != time(0) and self.end <= self.start:
            raise InvalidInput(
                f"working interval {self.start:%H:%M}-{self.end:%H:%M} must start before it ends"
            )

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def on(self, day: date) -> tuple[datetime, datetime]:
        """Naive wall-clock bounds of this interval on ``day``."""
        end_day = day + timedelta(days=1) if self.end == time(0) else day
        return datetime.combine(day, self.start), datetime.combine(end_day, self.end)

    def overlaps(self, other: LocalInterval) -> bool:
        a0, a1 = self.on(date.min)
        b0, b1 = other.on(date.min)
        return a0 < b1 and b0 < a1


def _check_no_overlaps(intervals: Sequence[LocalInterval], where: str) -> tuple[LocalInterval, ...]:
    ordered = tuple(sorted(intervals))
    for first, second in pairwise(ordered):
        if first.overlaps(second):
            raise InvalidInput(
                f"working intervals overlap on {where}: {first} and {second}",
                field="working_hours",
            )
    return ordered


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Intervals per ISO weekday index (0 = Monday .. 6 = Sunday)."""

    days: Mapping[int, tuple[LocalInterval, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked: dict[int, tuple[LocalInterval, ...]] = {}
        for weekday, intervals in self.days.items():
            if weekday not in range(7):
                raise InvalidInput(f"weekday {weekday} is not 0 (Monday) .. 6 (Sunday)")
            if intervals:
                checked[weekday] = _check_no_overlaps(intervals, WEEKDAYS[weekday])
        object.__setattr__(self, "days", checked)

    def for_weekday(self, weekday: int) -> tuple[LocalInterval, ...]:
        return self.days.get(weekday, ())

    def at(self, institution_id: UUID | None) -> WeeklyHours:
        """Only the intervals at ``institution_id`` (``None``: the unassigned ones)."""
        return WeeklyHours(
            {
                weekday: tuple(i for i in intervals if i.institution_id == institution_id)
                for weekday, intervals in self.days.items()
            }
        )

    def institutions(self) -> set[UUID | None]:
        return {i.institution_id for intervals in self.days.values() for i in intervals}


def _place(institution_id: UUID | None) -> str:
    return f"institution {institution_id}" if institution_id else "unassigned hours"


def replace_institution_hours(
    current: WeeklyHours, institution_id: UUID | None, hours: WeeklyHours
) -> WeeklyHours:
    """``current`` with the intervals at ``institution_id`` replaced by ``hours`` (each
    interval of which is stamped with ``institution_id``; ``None``: the unassigned
    hours, which is all there is for a doctor with no institution).

    A doctor is in one place at a time: an interval at this institution may not overlap
    one the doctor keeps elsewhere (another institution, or unassigned hours), which is
    refused as the ``hours-overlap-across-institutions`` rule, naming both.
    """
    kept = {
        weekday: tuple(i for i in intervals if i.institution_id != institution_id)
        for weekday, intervals in current.days.items()
    }
    merged: dict[int, tuple[LocalInterval, ...]] = dict(kept)
    for weekday, intervals in hours.days.items():
        stamped = tuple(
            LocalInterval(i.start, i.end, institution_id=institution_id) for i in intervals
        )
        for new in stamped:
            for other in kept.get(weekday, ()):
                if new.overlaps(other):
                    raise BusinessRuleViolation(
                        f"on {WEEKDAYS[weekday]} {new} at {_place(institution_id)} overlaps "
                        f"{other} at {_place(other.institution_id)}: a doctor is in one "
                        "place at a time",
                        rule="hours-overlap-across-institutions",
                    )
        merged[weekday] = kept.get(weekday, ()) + stamped
    return WeeklyHours(merged)


def check_extra_hours_place(availability: DoctorAvailability, extra: ExtraHours) -> None:
    """Extra hours at one place may not overlap the doctor's hours at another place on
    that date (weekly or extra); the same rule as ``replace_institution_hours``."""
    mine = extra.interval.institution_id
    for other in availability.intervals_on(extra.on):
        if other.institution_id != mine and other.overlaps(extra.interval):
            raise BusinessRuleViolation(
                f"on {extra.on.isoformat()} {extra.interval} at {_place(mine)} overlaps "
                f"{other} at {_place(other.institution_id)}: a doctor is in one place at a "
                "time",
                rule="hours-overlap-across-institutions",
            )


@dataclass(frozen=True, slots=True)
class ExtraHours:
    """Working time added on one local date (on top of the weekly pattern)."""

    on: date
    interval: LocalInterval


@dataclass(frozen=True, slots=True)
class TimeOff:
    """Time the doctor does not work, whatever the weekly pattern says."""

    slot: TimeSlot
    reason: str = ""


def _offset_at(instant: datetime, zone: ZoneInfo) -> timedelta:
    # zoneinfo always answers for an aware instant; the fallback only satisfies typing.
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _constant_offset_pieces(
    start: datetime, end: datetime, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """Split ``[start, end)`` into pieces over which the zone's UTC offset is constant."""
    first, last = _offset_at(start, zone), _offset_at(end - _TICK, zone)
    if first == last:
        # Real zones never change offset twice and come back within the few days we
        # look at; checking both ends is therefore enough.
        yield start, end, first
        return
    lo, hi = start, end - _TICK  # offset(lo) == first, offset(hi) != first
    while hi - lo > _TICK:
        mid = lo + (hi - lo) / 2
        if _offset_at(mid, zone) == first:
            lo = mid
        else:
            hi = mid
    yield start, hi, first
    yield from _constant_offset_pieces(hi, end, zone)


def merge_slots(slots: Iterable[TimeSlot]) -> list[TimeSlot]:
    """Union of slots as a sorted list of disjoint, non-touching slots."""
    merged: list[TimeSlot] = []
    for slot in sorted(slots):
        if merged and slot.start <= merged[-1].end:
            if slot.end > merged[-1].end:
                merged[-1] = TimeSlot(merged[-1].start, slot.end)
        else:
            merged.append(slot)
    return merged


def subtract_slots(base: Iterable[TimeSlot], holes: Iterable[TimeSlot]) -> list[TimeSlot]:
    result = merge_slots(base)
    for hole in merge_slots(holes):
        next_result: list[TimeSlot] = []
        for piece in result:
            if not piece.overlaps(hole):
                next_result.append(piece)
                continue
            if piece.start < hole.start:
                next_result.append(TimeSlot(piece.start, hole.start))
            if hole.end < piece.end:
                next_result.append(TimeSlot(hole.end, piece.end))
        result = next_result
    return result


@dataclass(frozen=True, slots=True)
class DoctorAvailability:
    """When a doctor works: weekly pattern + extra hours - time off, in their timezone."""

    timezone: str
    weekly: WeeklyHours = field(default_factory=WeeklyHours)
    extra_hours: tuple[ExtraHours, ...] = ()
    time_off: tuple[TimeOff, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def intervals_on(self, day: date) -> list[LocalInterval]:
        intervals = list(self.weekly.for_weekday(day.weekday()))
        intervals.extend(extra.interval for extra in self.extra_hours if extra.on == day)
        return intervals

    def at(self, institution_id: UUID | None) -> DoctorAvailability:
        """The doctor's working time at one institution: its weekly and extra hours,
        minus all the doctor's time off (time off is the doctor's, wherever)."""
        return DoctorAvailability(
            timezone=self.timezone,
            weekly=self.weekly.at(institution_id),
            extra_hours=tuple(
                e for e in self.extra_hours if e.interval.institution_id == institution_id
            ),
            time_off=self.time_off,
        )

    def institutions(self) -> set[UUID | None]:
        """Every place the doctor has hours at (``None``: unassigned hours)."""
        return self.weekly.institutions() | {e.interval.institution_id for e in self.extra_hours}

    def institution_for(self, slot: TimeSlot) -> UUID | None:
        """Where a visit in ``slot`` takes place: the institution whose hours alone cover
        it; ``None`` when unassigned hours cover it, or no single place does."""
        for institution_id in sorted((i for i in self.institutions() if i is not None), key=str):
            if self.at(institution_id).covers(slot):
                return institution_id
        return None

    def working_ranges(self, window: TimeSlot) -> list[TimeSlot]:
        """Working time inside ``window`` as disjoint UTC slots, time off removed."""
        zone = self.zone
        ranges: list[TimeSlot] = []
        for piece_start, piece_end, offset in _constant_offset_pieces(
            window.start, window.end, zone
        ):
            # Within a piece, wall time = UTC instant + offset, so a wall-clock interval
            # maps to a UTC interval by subtracting the offset.
            wall_start = (piece_start + offset).replace(tzinfo=None)
            wall_end = (piece_end + offset).replace(tzinfo=None)
            day = wall_start.date()
            while day <= wall_end.date():
                for interval in self.intervals_on(day):
                    naive_start, naive_end = interval.on(day)
                    start = max(naive_start, wall_start)
                    end = min(naive_end, wall_end)
                    if start < end:
                        ranges.append(
                            TimeSlot(
                                (start - offset).replace(tzinfo=UTC),
                                (end - offset).replace(tzinfo=UTC),
                            )
                        )
                day += timedelta(days=1)
        return subtract_slots(ranges, (off.slot for off in self.time_off))

    def covers(self, slot: TimeSlot) -> bool:
        """True when every instant of ``slot`` is working time."""
        return any(r.contains(slot) for r in self.working_ranges(slot))

    def free_slots(
        self,
        window: TimeSlot,
        *,
        length: timedelta,
        busy: Iterable[TimeSlot] = (),
        not_before: datetime | None = None,
        buffer_before: timedelta = timedelta(0),
        buffer_after: timedelta = timedelta(0),
    ) -> list[TimeSlot]:
        """Bookable slots of ``length`` inside ``window``, stepping from each working start.

        ``busy`` are the doctor's blocked ranges. With buffers, a candidate's blocked
        range ``[start - buffer_before, end + buffer_after)`` must stay clear of them
        (the visit itself lies in working hours; its buffers may not), and candidates
        step by the whole blocked length so that neighbours' buffers do not collide.
        """
        if length <= timedelta(0):
            raise InvalidInput("visit length must be positive", field="length")
        busy_slots = merge_slots(busy)
        earliest = ensure_utc(not_before) if not_before is not None else None
        step = buffer_before + length + buffer_after
        found: list[TimeSlot] = []
        for working in self.working_ranges(window):
            start = working.start
            while start + length <= working.end:
                candidate = TimeSlot(start, start + length)
                blocked = TimeSlot(start - buffer_before, start + length + buffer_after)
                start += step
                if earliest is not None and candidate.start < earliest:
                    continue
                if any(b.overlaps(blocked) for b in busy_slots):
                    continue
                found.append(candidate)
        return found


# ------------------------------------------------------------------------------ policy


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """The clinic's timing rules. Defaults are the ones a clinic would start with."""

    minimum_notice: timedelta = timedelta(hours=1)
    booking_horizon: timedelta = timedelta(days=90)
    cancellation_cutoff: timedelta = timedelta(hours=24)
    check_in_opens_before: timedelta = timedelta(minutes=60)
    check_in_closes_after: timedelta = timedelta(minutes=30)
    no_show_grace: timedelta = timedelta(minutes=15)
    max_visit_length: timedelta = timedelta(hours=8)
    #: A patient booking for themself must have proven their email address first
    #: (``HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK``, on by default in the settings; off
    #: here so that policies built in code keep their rules to the clock).
    require_verified_email: bool = False

    def check_in_window(self, slot: TimeSlot) -> TimeSlot:
        return TimeSlot(
            slot.start - self.check_in_opens_before, slot.start + self.check_in_closes_after
        )
