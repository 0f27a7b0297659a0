"""``/api/v1/doctors/{id}/...``: working hours, time off, extra hours, free slots.

Working hours are wall-clock intervals in the doctor's timezone, so "09:00" stays
09:00 on the doctor's clock across DST changes; slots are answered both as UTC
instants and on that wall clock.
"""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hduce.application.availability.free_slots import MAX_SLOT_WINDOW
from hduce.application.availability.hours import AddExtraHours, GetWorkingHours, SetWorkingHours
from hduce.application.availability.local_calendar import AddDoctorTimeOff, ListDoctorSlots
from hduce.application.clinic import GetDoctor
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas.schedule import (
    ExtraHoursCreate,
    ExtraHoursView,
    SlotView,
    TimeOffCreate,
    TimeOffView,
    WeekView,
    WorkingHoursPut,
    WorkingHoursView,
    parse_day_or_instant,
)
from hduce.entrypoints.http.inputs import DAY_OR_INSTANT_PATTERN
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_input_example,
    not_found_example,
    problem_example,
)

_NOT_FOUND: Final = {
    404: problem(404, "No such doctor", not_found_example("doctor", demo.DOCTOR_ID))
}
_DOCTOR_OR_ADMIN: Final = requires_role(Role.DOCTOR, Role.ADMIN)
_WINDOW_BOUND = (
    "An instant with a UTC offset (2030-03-30T00:00:00+01:00; Z for UTC; encode '+' as "
    "%2B) or a date (2030-03-30), meaning that day in the doctor's timezone"
)


class DoctorScheduleController(Controller):
    path = "/doctors/{doctor_id:uuid}"
    tags = ("availability",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/working-hours",
        summary="A doctor's weekly working hours",
        description="Public. Intervals per weekday, as wall-clock times in the doctor's "
        'timezone; an interval ending at midnight ends at "24:00".',
        responses={**MALFORMED_REQUEST, **_NOT_FOUND},
    )
    async def get_working_hours(
        self, doctor_id: FromPath[UUID], get_working_hours: FromDishka[GetWorkingHours]
    ) -> WorkingHoursView:
        availability = await get_working_hours(doctor_id)
        return WorkingHoursView(
            doctor_id=doctor_id,
            timezone=availability.timezone,
            days=WeekView.of(availability.weekly),
        )

    @put(
        "/working-hours",
        guards=[_DOCTOR_OR_ADMIN],
        summary="Replace a doctor's weekly working hours",
        description="The doctor themself or an admin. The body is the whole week: a day "
        "left out is not worked. Intervals of one day may not overlap and must start "
        "before they end; a refusal names the field (e.g. `days.monday[1]`). If "
        "`timezone` is sent it must be the doctor's: hours meant for another zone are "
        "refused with 422 (change the zone with PATCH /doctors/{id} first). With "
        "`institution_id` only the hours at that institution are replaced (the doctor "
        "must work there, 422 `not-a-member`); without it, the unassigned hours. Hours "
        "at two places may not overlap: 422 `hours-overlap-across-institutions`.",
        responses={
            **INVALID,
            **SIGNED_IN,
            **_NOT_FOUND,
            422: problem(
                422,
                "timezone-mismatch: the hours were meant for another timezone",
                problem_example(
                    422,
                    "timezone-mismatch",
                    "these hours are meant for Atlantic/Canary, but the doctor works in "
                    "Europe/Madrid; change the doctor's timezone first",
                ),
                problem_example(
                    422,
                    "hours-overlap-across-institutions",
                    f"on monday 12:00-14:00 at institution {demo.INSTITUTION_ID} overlaps "
                    "09:00-13:00 at unassigned hours: a doctor is in one place at a time",
                ),
            ),
        },
    )
    async def set_working_hours(
        self,
        doctor_id: FromPath[UUID],
        data: JSONBody[WorkingHoursPut],
        actor: NamedDependency[Actor],
        set_working_hours: FromDishka[SetWorkingHours],
    ) -> WorkingHoursView:
        weekly = data.days.to_domain()
        availability = await set_working_hours(
            actor, doctor_id, weekly, timezone=data.timezone, institution_id=data.institution_id
        )
        return WorkingHoursView(
            doctor_id=doctor_id,
            timezone=availability.timezone,
            days=WeekView.of(availability.weekly),
        )

    @post(
        "/time-off",
        status_code=201,
        guards=[_DOCTOR_OR_ADMIN],
        summary="Block time off",
        description="The doctor themself or an admin. `starts_at`/`ends_at` are instants "
        "with a UTC offset, or dates meaning whole days in the doctor's timezone "
        "(`ends_at` as a date is inclusive: 2030-08-01..2030-08-15 is fifteen days). "
        "No new slot is offered inside it; existing appointments are not touched.",
        responses={**INVALID, **SIGNED_IN, **_NOT_FOUND},
    )
    async def add_time_off(
        self,
        doctor_id: FromPath[UUID],
        data: JSONBody[TimeOffCreate],
        actor: NamedDependency[Actor],
        add_time_off: FromDishka[AddDoctorTimeOff],
    ) -> TimeOffView:
        scheduled = await add_time_off(
            actor,
            doctor_id,
            parse_day_or_instant(data.starts_at, "starts_at"),
            parse_day_or_instant(data.ends_at, "ends_at"),
            data.reason,
        )
        return TimeOffView.of(scheduled)

    @post(
        "/extra-hours",
        status_code=201,
        guards=[_DOCTOR_OR_ADMIN],
        summary="Add working hours on one date",
        description="The doctor themself or an admin. `start`-`end` on `date`, on the "
        "doctor's wall clock, on top of the weekly hours (e.g. a Saturday morning). With "
        "`institution_id`, worked there (the doctor must work there); they may not overlap "
        "the doctor's hours at another place that day (422 "
        "`hours-overlap-across-institutions`).",
        responses={**INVALID, **SIGNED_IN, **_NOT_FOUND},
    )
    async def add_extra_hours(
        self,
        doctor_id: FromPath[UUID],
        data: JSONBody[ExtraHoursCreate],
        actor: NamedDependency[Actor],
        add_extra_hours: FromDishka[AddExtraHours],
        get_doctor: FromDishka[GetDoctor],
    ) -> ExtraHoursView:
        extra = data.to_domain()
        extra_id = await add_extra_hours(actor, doctor_id, extra)
        timezone = (await get_doctor(doctor_id)).doctor.timezone
        return ExtraHoursView.of(extra_id, doctor_id, extra, timezone)

    @get(
        "/slots",
        summary="Free slots of a doctor",
        description="Public. Bookable slots of the doctor's visit length (or of the visit "
        "type `visit_type_id`, its buffers kept free) between `from` and "
        "`to`: working hours and extra hours, minus time off, taken appointments, the "
        "minimum notice and what lies past the booking horizon. Each slot is given in "
        "UTC and on the doctor's wall clock (with its offset, so DST is explicit). "
        "`from`/`to` are instants with an offset (a naive one is refused) or dates, "
        "meaning local days in the doctor's timezone, `to` inclusive. At most "
        f"{MAX_SLOT_WINDOW.days} days (of 24 h) per request.",
        responses={
            400: problem(
                400,
                "Bad `from`/`to`: unparseable, without an offset, `to` not after `from`, "
                f"or more than {MAX_SLOT_WINDOW.days} days apart",
                invalid_input_example(
                    "from", "from must carry a UTC offset (e.g. 2030-01-31T09:00:00+01:00)"
                ),
            ),
            404: problem(
                404,
                "No such doctor, or no such visit type of that doctor",
                not_found_example("doctor", demo.DOCTOR_ID),
            ),
        },
    )
    async def list_slots(
        self,
        doctor_id: FromPath[UUID],
        list_slots: FromDishka[ListDoctorSlots],
        window_from: Annotated[
            str,
            QueryParameter(
                name="from",
                max_length=40,
                schema_extra={"pattern": DAY_OR_INSTANT_PATTERN},
                description=f"Start of the window. {_WINDOW_BOUND}.",
            ),
        ],
        window_to: Annotated[
            str,
            QueryParameter(
                name="to",
                max_length=40,
                schema_extra={"pattern": DAY_OR_INSTANT_PATTERN},
                description=f"End of the window (a date: inclusive). {_WINDOW_BOUND}.",
            ),
        ],
        visit_type_id: Annotated[
            UUID | None,
            QueryParameter(
                required=False,
                description="One of the doctor's visit types: slots of its length whose "
                "buffers stay clear of other visits, within its horizon and notice.",
            ),
        ] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(
                required=False,
                description="Only slots in the hours the doctor works at this institution.",
            ),
        ] = None,
    ) -> list[SlotView]:
        slots = await list_slots(
            doctor_id,
            parse_day_or_instant(window_from, "from"),
            parse_day_or_instant(window_to, "to"),
            visit_type_id,
            institution_id,
        )
        return [SlotView.of(slot) for slot in slots]
