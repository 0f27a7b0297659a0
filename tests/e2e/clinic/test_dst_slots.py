"""Free slots across the 2030 DST changes of Madrid and New York: a doctor who starts
at 09:00 on their wall clock starts at a different UTC instant after each change.

The change dates (all Sundays) are checked against zoneinfo below, so the expectations
cannot silently drift if the tz database changed them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.clinic.conftest import Clinic

EVERY_DAY = {
    day: [{"start": "09:00", "end": "10:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}

#: (zone, change date, UTC hour of 09:00 local the day before, the change day and after)
CHANGES = [
    ("Europe/Madrid", date(2030, 3, 31), (8, 7, 7)),  # CET +01 -> CEST +02 at 02:00
    ("Europe/Madrid", date(2030, 10, 27), (7, 8, 8)),  # CEST +02 -> CET +01 at 03:00
    ("America/New_York", date(2030, 3, 10), (14, 13, 13)),  # EST -05 -> EDT -04 at 02:00
    ("America/New_York", date(2030, 11, 3), (13, 14, 14)),  # EDT -04 -> EST -05 at 02:00
]


def offset_hours(zone: str, day: date) -> float:
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


@pytest.mark.parametrize(
    ("zone", "change", "utc_hours"),
    CHANGES,
    ids=[f"{zone}-{day}" for zone, day, _ in CHANGES],
)
async def test_nine_oclock_local_moves_in_utc_at_the_change(
    clinic: Clinic, zone: str, change: date, utc_hours: tuple[int, int, int]
) -> None:
    # The tz database agrees that the offset changes between the eve and the day.
    eve = change - timedelta(days=1)
    assert offset_hours(zone, eve) != offset_hours(zone, change)
    assert change.weekday() == 6  # a Sunday
    await clinic.travel(datetime.combine(change - timedelta(days=20), datetime.min.time(), UTC))
    doctor = await clinic.doctor(timezone=zone, visit_minutes=30)
    await clinic.set_hours(doctor, EVERY_DAY)

    slots = await clinic.slots(
        doctor["id"], eve.isoformat(), (change + timedelta(days=1)).isoformat()
    )

    nine_oclock = [s for s in slots if s["local_starts_at"][11:16] == "09:00"]
    days = [eve, change, change + timedelta(days=1)]
    expected_utc = [
        datetime(d.year, d.month, d.day, hour, tzinfo=UTC)
        for d, hour in zip(days, utc_hours, strict=True)
    ]
    assert [datetime.fromisoformat(s["starts_at"]) for s in nine_oclock] == expected_utc
    assert [s["local_starts_at"] for s in nine_oclock] == [
        datetime.combine(d, datetime.min.time().replace(hour=9), ZoneInfo(zone)).isoformat()
        for d in days
    ]
    assert all(s["timezone"] == zone for s in slots)
    # Two half-hour visits a day, each 30 real minutes, even on the change day.
    assert len(slots) == 6
    for slot in slots:
        start, end = (datetime.fromisoformat(slot[k]) for k in ("starts_at", "ends_at"))
        assert end - start == timedelta(minutes=30)
        assert start.utcoffset() == timedelta(0)
        assert datetime.fromisoformat(slot["local_starts_at"]) == start


async def test_a_night_shift_loses_the_skipped_hour(clinic: Clinic) -> None:
    """01:00-04:00 on the night Madrid skips 02:00-03:00 is two real hours."""
    await clinic.travel(datetime(2030, 3, 1, tzinfo=UTC))
    doctor = await clinic.doctor(timezone="Europe/Madrid", visit_minutes=60)
    await clinic.set_hours(doctor, {"sunday": [{"start": "01:00", "end": "04:00"}]})

    slots = await clinic.slots(doctor["id"], "2030-03-31T00:00:00+01:00", "2030-03-31T12:00:00Z")

    assert [(s["starts_at"], s["local_starts_at"], s["local_ends_at"]) for s in slots] == [
        ("2030-03-31T00:00:00Z", "2030-03-31T01:00:00+01:00", "2030-03-31T03:00:00+02:00"),
        ("2030-03-31T01:00:00Z", "2030-03-31T03:00:00+02:00", "2030-03-31T04:00:00+02:00"),
    ]
