"""Console pages of admins: the clinic's statistics (charts drawn as SVG on the
server) and the accounts (search, deactivate, reactivate)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.admin.audit import AuditQuery, ListAuditEntries
from hduce.application.admin.statistics import GetClinicStats
from hduce.application.clinic.doctors import CreateDoctor, DoctorProfile, NewDoctor
from hduce.application.clinic.specialties import CreateSpecialty, ListSpecialties
from hduce.application.identity.accounts import ListUsers, SetUserActive
from hduce.application.ports import PageRequest, UserQuery
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.paging import Pager, asked_page
from hduce.entrypoints.web.views import go, render, viewer_of

USERS_PAGE: Final = 50
AUDIT_PAGE: Final = 50


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _int(raw: str | None, field: str, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number", field=field) from None


def _decimal(raw: str | None, field: str) -> Decimal:
    try:
        return Decimal(raw) if raw else Decimal("0")
    except InvalidOperation:
        raise InvalidInput(f"{field} must be an amount such as 25.00", field=field) from None


def _day_bound(raw: str | None, field: str, *, end: bool, zone: Any) -> datetime | None:
    """A date of the form, as the start of that day (``end``: of the next) in ``zone``."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{field} must be a date", field=field) from None
    start = datetime.combine(day, time(), tzinfo=zone)
    return (start + timedelta(days=1) if end else start).astimezone(UTC)


def scale(values: list[int]) -> int:
    """The largest value, at least 1: bars are drawn as a share of it."""
    return max([1, *values])


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/")
    async def statistics(
        self, request: Request[Any, Any, Any], get_stats: FromDishka[GetClinicStats]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        stats = await get_stats(actor)
        return render(
            request,
            viewer,
            "admin_stats.html",
            stats=stats,
            day_max=scale([d.count for d in stats.appointments_by_day]),
            status_max=scale(list(stats.appointments_by_status.values())),
            doctor_max=scale([d.count for d in stats.appointments_by_doctor]),
            specialty_max=scale([s.count for s in stats.appointments_by_specialty]),
        )

    @get("/users")
    async def users(
        self, request: Request[Any, Any, Any], list_users: FromDishka[ListUsers]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        search = (request.query_params.get("search") or "").strip()[:200]
        role_raw = request.query_params.get("role") or ""
        role = Role(role_raw) if role_raw in {r.value for r in Role} else None
        page = await list_users(
            actor,
            UserQuery(
                role=role,
                search=search or None,
                page=PageRequest(limit=USERS_PAGE, offset=(asked_page(request) - 1) * USERS_PAGE),
            ),
        )
        return render(
            request,
            viewer,
            "admin_users.html",
            users=page.items,
            total=page.total,
            pager=Pager.of(request, page.total, USERS_PAGE),
            search=search,
            role=role_raw if role else "",
            roles=[r.value for r in Role],
            done=request.query_params.get("done"),
        )

    @post("/users/{user_id:uuid}/active")
    async def set_active(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[UUID],
        set_active: FromDishka[SetUserActive],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await request.form()
        active = form.get("active") == "true"
        await set_active(actor, user_id, active)
        return go(request, "/admin/users?done=" + ("activated" if active else "deactivated"))

    # ------------------------------------------------------------------ doctors

    @get("/doctors/new")
    async def new_doctor(
        self, request: Request[Any, Any, Any], list_specialties: FromDishka[ListSpecialties]
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        return render(
            request,
            viewer,
            "admin_new_doctor.html",
            specialties=await list_specialties(),
            form={"visit_minutes": "30", "timezone": viewer.t.timezone.key},
        )

    @post("/doctors/new")
    async def create_doctor(
        self,
        request: Request[Any, Any, Any],
        create: FromDishka[CreateDoctor],
        list_specialties: FromDishka[ListSpecialties],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)

        async def create_it() -> DoctorProfile:
            specialty_raw = form.get("specialty_id", "")
            try:
                specialty_id = UUID(specialty_raw)
            except ValueError:
                raise InvalidInput("choose a specialty", field="specialty_id") from None
            return await create(
                actor,
                NewDoctor(
                    email=form.get("email", ""),
                    full_name=form.get("full_name", ""),
                    licence_number=form.get("licence_number", ""),
                    specialty_id=specialty_id,
                    consultation_fee=_decimal(form.get("consultation_fee"), "consultation_fee"),
                    visit_minutes=_int(form.get("visit_minutes"), "visit_minutes", 30),
                    timezone=form.get("timezone", "").strip() or None,
                    bio=form.get("bio", ""),
                    phone=form.get("phone", "").strip() or None,
                    password=form.get("password") or None,
                ),
            )

        async def specialties(_: DomainError) -> dict[str, Any]:
            return {"specialties": await list_specialties()}

        profile = await submit_form(
            request,
            viewer,
            "admin_new_doctor.html",
            create_it,
            more=specialties,
            form={k: v for k, v in form.items() if k != "password"},
        )
        return go(request, f"/doctor/{profile.id}/hours?done=created")

    # ------------------------------------------------------------------ specialties

    @get("/specialties")
    async def specialties(
        self, request: Request[Any, Any, Any], list_specialties: FromDishka[ListSpecialties]
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        return render(
            request,
            viewer,
            "admin_specialties.html",
            specialties=await list_specialties(),
            done=request.query_params.get("done"),
        )

    @post("/specialties")
    async def create_specialty(
        self,
        request: Request[Any, Any, Any],
        create: FromDishka[CreateSpecialty],
        list_specialties: FromDishka[ListSpecialties],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)

        async def specialties(_: DomainError) -> dict[str, Any]:
            return {"specialties": await list_specialties()}

        await submit_form(
            request,
            viewer,
            "admin_specialties.html",
            lambda: create(actor, form.get("name", ""), form.get("description", "")),
            more=specialties,
            form=form,
        )
        return go(request, "/admin/specialties?done=created")

    # ------------------------------------------------------------------ audit

    @get("/audit")
    async def audit(
        self, request: Request[Any, Any, Any], list_entries: FromDishka[ListAuditEntries]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        params = request.query_params
        zone = viewer.t.timezone
        filters = {
            "action": (params.get("action") or "").strip()[:100],
            "target_id": (params.get("target_id") or "").strip()[:100],
            "from": params.get("from") or "",
            "to": params.get("to") or "",
        }
        trail = await submit_form(
            request,
            viewer,
            "admin_audit.html",
            lambda: list_entries(
                actor,
                AuditQuery(
                    action=filters["action"] or None,
                    target_id=filters["target_id"] or None,
                    at_from=_day_bound(filters["from"], "from", end=False, zone=zone),
                    at_before=_day_bound(filters["to"], "to", end=True, zone=zone),
                    page=PageRequest(
                        limit=AUDIT_PAGE, offset=(asked_page(request) - 1) * AUDIT_PAGE
                    ),
                ),
            ),
            filters=filters,
            entries=[],
            total=0,
            names={},
        )
        return render(
            request,
            viewer,
            "admin_audit.html",
            filters=filters,
            entries=trail.entries.items,
            total=trail.entries.total,
            pager=Pager.of(request, trail.entries.total, AUDIT_PAGE),
            names=trail.actor_names,
        )
