"""Walk-in patients in the console (ADR 0015, README "walk-in"): an admin makes the
account at the desk (``/admin/patients/new``) and may mail its "set your password" link
again; the person opens that link (``HDUCE_PUBLIC_URL`` + ``/set-password?token=…``)
and chooses the first password. The same use cases as ``POST /api/v1/patients``,
``POST /api/v1/patients/{id}/password-link`` and ``POST /api/v1/auth/password-setup``.

As with the reset link (``security_pages``), opening the link only shows a form: the
token is used by the form's POST, so a mail scanner that fetches links uses nothing up.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.clinic.walk_ins import (
    CreateWalkInPatient,
    ResendPasswordSetup,
    WalkInPatient,
)
from hduce.application.identity.email_links import ResetPasswordCommand, SetFirstPassword
from hduce.domain.identity import Role
from hduce.entrypoints.http.auth.cookies import cleared_session_cookies
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.views import go, render, viewer_of

_MAX_FIELD: Final = 1024
#: What the walk-in form keeps when it is drawn again.
_FIELDS: Final = ("full_name", "email", "phone")


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value)[:_MAX_FIELD] for key, value in form.items() if isinstance(value, str)}


class SetPasswordPages(Controller):
    """The page of the "set your password" link a walk-in patient is mailed."""

    include_in_schema = False

    @get("/set-password")
    async def set_page(self, request: Request[Any, Any, Any]) -> Template:
        return render(
            request,
            await viewer_of(request),
            "set_password.html",
            token=(request.query_params.get("token") or "")[:_MAX_FIELD],
        )

    @post("/set-password")
    async def set_password(
        self, request: Request[Any, Any, Any], set_first: FromDishka[SetFirstPassword]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        form = await _form(request)
        token = form.get("token", "")
        await submit_form(
            request,
            viewer,
            "set_password.html",
            lambda: set_first(
                ResetPasswordCommand(token=token, new_password=form.get("new_password", ""))
            ),
            token=token,
        )
        # To sign in with it; a browser signed in as someone else is signed out first.
        cookies = cleared_session_cookies() if viewer.principal is not None else []
        return go(request, "/login?done=password_set", cookies=cookies)


class WalkInPages(Controller):
    """Admin: a walk-in patient's account, and its link mailed again."""

    path = "/admin/patients"
    include_in_schema = False

    @get("/new")
    async def new_page(self, request: Request[Any, Any, Any]) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        return render(request, viewer, "admin_walk_in.html", form={})

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], create: FromDishka[CreateWalkInPatient]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = {key: value for key, value in (await _form(request)).items() if key in _FIELDS}
        phone = form.get("phone", "").strip()
        record = await submit_form(
            request,
            viewer,
            "admin_walk_in.html",
            lambda: create(
                actor,
                WalkInPatient(
                    email=form.get("email", "").strip(),
                    full_name=form.get("full_name", ""),
                    phone=phone or None,
                ),
            ),
            form=form,
        )
        return render(
            request,
            viewer,
            "admin_walk_in.html",
            status_code=201,
            form={},
            created=record.user,
        )

    @post("/{patient_id:uuid}/password-link")
    async def resend(
        self,
        request: Request[Any, Any, Any],
        patient_id: FromPath[UUID],
        resend: FromDishka[ResendPasswordSetup],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        await resend(actor, patient_id)
        return go(request, "/admin/users?done=link_sent")


__all__ = ["SetPasswordPages", "WalkInPages"]
