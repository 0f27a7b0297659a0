"""``GET /api/v1/admin/audit``: the audit trail, filtered and paged (admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from hduce.application.admin.audit import AuditQuery, ListAuditEntries
from hduce.application.ports import PageRequest
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.admin.responses import ADMIN_ONLY, INSTANT_HINT
from hduce.entrypoints.http.admin.schemas import AuditPage
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.inputs import NO_CONTROL, since_1970_query

MAX_PAGE = 200


class AdminAuditController(Controller):
    path = "/admin/audit"
    tags = ("admin",)
    guards = (requires_role(Role.ADMIN),)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="The audit trail: who did what, when",
        description=(
            "Admin only. Every appointment transition (booked, approved, rejected, "
            "cancelled, checked in, completed, no-show, entered in error, rescheduled, "
            "expired by the system) and every admin action (accounts created, "
            "(de)activated, catalogue and calendar changes) is written in the same "
            "transaction as the change. Newest first. Filters combine (AND): "
            "`target_id` (e.g. an appointment id: its whole story), `actor_id`, `action` "
            "(exact, e.g. `appointment.cancelled`), and `from <= at < to`. "
            f"{INSTANT_HINT}"
        ),
        responses=ADMIN_ONLY,
    )
    async def list_audit_entries(
        self,
        actor: NamedDependency[Actor],
        list_audit_entries: FromDishka[ListAuditEntries],
        target_id: Annotated[
            str | None,
            QueryParameter(
                max_length=100,
                pattern=NO_CONTROL,
                description="What was acted on: an appointment, user... id",
            ),
        ] = None,
        actor_id: Annotated[
            UUID | None, QueryParameter(description="Who acted (a user id)")
        ] = None,
        action: Annotated[
            str | None,
            QueryParameter(
                max_length=100,
                pattern=NO_CONTROL,
                description="Exact action, e.g. appointment.approved",
            ),
        ] = None,
        at_from: Annotated[datetime | None, since_1970_query("from", "at >= this instant")] = None,
        at_before: Annotated[datetime | None, since_1970_query("to", "at < this instant")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> AuditPage:
        trail = await list_audit_entries(
            actor,
            AuditQuery(
                target_id=target_id or None,
                actor_id=actor_id,
                action=action or None,
                at_from=at_from,
                at_before=at_before,
                page=PageRequest(limit=limit, offset=offset),
            ),
        )
        return AuditPage.of(trail)
