"""Recurring series over the in-memory adapters: a Madrid doctor's weekly visits across
the spring DST change, time off refusing one occurrence, all-or-nothing leaving the
store untouched, book-what-fits, cancel and reschedule this-and-following."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hduce.application.appointments.series import (
    BookSeries,
    CancelScope,
    CancelSeriesOccurrences,
    PreviewSeries,
    RescheduleSeriesOccurrences,
    SeriesCommand,
    SeriesDoesNotFit,
    SeriesMode,
)
from hduce.application.availability.hours import AddTimeOff
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.scheduling import TimeOff, TimeSlot
from hduce.domain.series import SeriesTooLong
from tests.unit.application.support import MADRID, Clinic, local

FIRST = date(2030, 3, 19)  # a Tuesday; summer time starts on Sunday 2030-03-31


def _command(
    clinic: Clinic, rule: str, mode: SeriesMode = SeriesMode.ALL_OR_NOTHING
) -> SeriesCommand:
    return SeriesCommand(
        actor=clinic.actor("patient"),
        doctor_id=clinic.people.doctor.id,
        starts_at=local(FIRST, "10:00"),
        rrule=rule,
        mode=mode,
    )


async def test_weekly_visits_keep_ten_oclock_in_madrid_across_dst(clinic: Clinic) -> None:
    f, c, p = clinic.uow_factory, clinic.clock, clinic.policy
    outcome = await BookSeries(f, c, p)(_command(clinic, "FREQ=WEEKLY;COUNT=3"))
    assert outcome.fitting == 3 and outcome.series is not None
    starts = [o.slot.start for o in outcome.occurrences]
    assert [s.astimezone(MADRID).hour for s in starts] == [10, 10, 10]
    assert [s.hour for s in starts] == [9, 9, 8]  # UTC moves by an hour
    for o in outcome.occurrences:
        assert o.appointment is not None
        assert clinic.stored(o.appointment.id).status is AppointmentStatus.PENDING
    assert len(clinic.store.series_members) == 3


async def test_time_off_refuses_one_occurrence_all_or_nothing_writes_nothing(
    clinic: Clinic,
) -> None:
    f, c, p = clinic.uow_factory, clinic.clock, clinic.policy
    away = local(FIRST + timedelta(weeks=1), "00:00")
    await AddTimeOff(f, c)(
        clinic.actor("doctor"),
        clinic.people.doctor.id,
        TimeOff(TimeSlot.of(away, timedelta(days=1))),
    )
    preview = await PreviewSeries(f, c, p)(_command(clinic, "FREQ=WEEKLY;COUNT=3"))
    assert [o.problem for o in preview.occurrences] == [None, "outside-working-hours", None]
    before = clinic.snapshot()
    with pytest.raises(SeriesDoesNotFit):
        await BookSeries(f, c, p)(_command(clinic, "FREQ=WEEKLY;COUNT=3"))
    assert clinic.snapshot() == before
    outcome = await BookSeries(f, c, p)(
        _command(clinic, "FREQ=WEEKLY;COUNT=3", SeriesMode.BOOK_WHAT_FITS)
    )
    assert [o.fits for o in outcome.occurrences] == [True, False, True]


async def test_cancel_and_reschedule_this_and_following(clinic: Clinic) -> None:
    f, c, p = clinic.uow_factory, clinic.clock, clinic.policy
    outcome = await BookSeries(f, c, p)(_command(clinic, "FREQ=WEEKLY;COUNT=3;BYDAY=TU"))
    assert outcome.series is not None
    ids = [o.appointment.id for o in outcome.occurrences if o.appointment]
    view = await RescheduleSeriesOccurrences(f, c, p)(
        clinic.actor("patient"),
        outcome.series.id,
        ids[1],
        local(FIRST + timedelta(weeks=1), "11:00"),
        CancelScope.THIS_AND_FOLLOWING,
    )
    # 11:00 on the Madrid clock, before and after the DST change.
    assert [a.starts_at.astimezone(MADRID).hour for _, a in view.members] == [10, 11, 11]
    moved = [a.id for _, a in view.members]
    view = await CancelSeriesOccurrences(f, c, p)(
        clinic.actor("patient"), outcome.series.id, moved[2], CancelScope.THIS_AND_FOLLOWING, "Done"
    )
    assert [a.status for _, a in view.members] == [
        AppointmentStatus.PENDING,
        AppointmentStatus.PENDING,
        AppointmentStatus.CANCELLED,
    ]


async def test_the_cap(clinic: Clinic) -> None:
    f, c, p = clinic.uow_factory, clinic.clock, clinic.policy
    with pytest.raises(SeriesTooLong):
        await PreviewSeries(f, c, p)(_command(clinic, "FREQ=DAILY;COUNT=53"))
