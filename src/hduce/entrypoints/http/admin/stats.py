"""``GET /api/v1/admin/stats``: the clinic's dashboard figures (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from hduce.application.admin.statistics import GetClinicStats
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.admin.responses import INSTANT_HINT, SCOPED_ADMIN_ONLY
from hduce.entrypoints.http.admin.schemas import ClinicStatsView
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.inputs import since_1970_query


class AdminStatsController(Controller):
    path = "/admin/stats"
    tags = ("admin",)
    guards = (requires_role(Role.ADMIN),)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="Clinic statistics",
        description=(
            "Admin only. Appointments that start in `[from, to)` (default: the last 30 "
            "days and the next 30; at most 366 days), whatever their status: by status, "
            "by day, by doctor, by specialty, by institution, and the no-show rate "
            "(no_show / (completed + no_show), null without either). Days are calendar "
            "days in the clinic's timezone (`HDUCE_DEFAULT_TIMEZONE`, echoed as "
            "`timezone`), every day of the window listed. Doctors and patients are "
            "counted as they are now: doctors by specialty (every specialty), patients "
            "(every patient account) by sex and by age band on `today` in the clinic's "
            "timezone. Aggregated in the database. With `institution_id` the appointment "
            "figures count only the visits at that institution (ADR 0025); for an admin "
            "scoped to an institution always theirs (another one: 403, ADR 0026). "
            f"{INSTANT_HINT}"
        ),
        responses=SCOPED_ADMIN_ONLY,
    )
    async def clinic_stats(
        self,
        actor: NamedDependency[Actor],
        get_clinic_stats: FromDishka[GetClinicStats],
        window_from: Annotated[
            datetime | None, since_1970_query("from", "Start of the window (inclusive)")
        ] = None,
        window_to: Annotated[
            datetime | None, since_1970_query("to", "End of the window (exclusive)")
        ] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(
                required=False,
                description="Count only the appointments at this institution (an admin "
                "scoped to an institution: theirs by default, another one is 403)",
            ),
        ] = None,
    ) -> ClinicStatsView:
        return ClinicStatsView.of(
            await get_clinic_stats(actor, window_from, window_to, institution_id=institution_id)
        )
