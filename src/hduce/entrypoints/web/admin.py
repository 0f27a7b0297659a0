"""Console pages of admins: the clinic's statistics (charts drawn as SVG on the
server) and the accounts (search, deactivate, reactivate)."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.admin.statistics import GetClinicStats
from hduce.application.identity.accounts import ListUsers, SetUserActive
from hduce.application.ports import PageRequest, UserQuery
from hduce.domain.identity import Role
from hduce.entrypoints.web.views import go, render, viewer_of

USERS_PAGE: Final = 50


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
                page=PageRequest(limit=USERS_PAGE, offset=0),
            ),
        )
        return render(
            request,
            viewer,
            "admin_users.html",
            users=page.items,
            total=page.total,
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
