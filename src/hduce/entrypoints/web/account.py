"""Console pages of everyone: home, sign in, register, sign out, language, the bell
and the notification list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.identity.accounts import (
    ProfileChanges,
    RegisterCommand,
    RegisterPatient,
    UpdateMyProfile,
)
from hduce.application.identity.sessions import Login, LoginCommand, Logout, LogoutCommand
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.ports import PageRequest
from hduce.domain.errors import DomainError
from hduce.domain.identity import Role
from hduce.domain.second_factor import SecondFactorRequired
from hduce.entrypoints.http.auth.cookies import cleared_session_cookies, session_cookies
from hduce.entrypoints.http.auth.security import client_ip
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from hduce.entrypoints.web.views import Viewer, go, render, safe_next, viewer_of

_HOME_OF = {Role.PATIENT: "/appointments", Role.DOCTOR: "/doctor/today", Role.ADMIN: "/admin"}
_NOTIFICATION_PAGE = 50
#: ``/login?done=…`` after an emailed link set a password (reset, or a walk-in's first).
_LOGIN_NOTICES = {"reset": "links.reset_done", "password_set": "walk_ins.password_set"}


def _login_notice(viewer: Viewer, done: str | None) -> str | None:
    key = _LOGIN_NOTICES.get(done or "")
    return viewer.t(key) if key else None


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _profile_form(user: Any) -> dict[str, Any]:
    return {
        "full_name": user.full_name,
        "phone": user.phone or "",
        "timezone": user.timezone,
        "email": not user.email_opt_out,
        "sms": not user.sms_opt_out,
    }


class AccountPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Response[Any]:
        viewer = await viewer_of(request)
        if viewer.user is None:
            return go(request, "/login")
        return go(request, _HOME_OF[viewer.user.role])

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        viewer = await viewer_of(request)
        target = safe_next(request.query_params.get("next"))
        if viewer.user is not None:
            return go(request, target)
        return render(
            request,
            viewer,
            "login.html",
            next=target,
            google=request.app.state.settings.google is not None,
            # Sent here by a page whose access token had expired: console.js tries the
            # refresh cookie once and goes back if the session still holds.
            resume=target if "next" in request.query_params else None,
            notice=_login_notice(viewer, request.query_params.get("done")),
        )

    @post("/login")
    async def login(self, request: Request[Any, Any, Any], login: FromDishka[Login]) -> Any:
        viewer = await viewer_of(request)
        # viewer_of checked the CSRF token: no login CSRF (a hostile page signing a
        # visitor into an account of its choosing).
        form = await _form(request)
        target = safe_next(form.get("next"))
        try:
            pair = await login(
                LoginCommand(
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    client_ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
            )
        except SecondFactorRequired as exc:
            # The password was right: the code step (security_pages.second_factor).
            return render(
                request, viewer, "second_factor.html", challenge=exc.challenge, next=target
            )
        except DomainError as exc:
            return render(
                request,
                viewer,
                "login.html",
                status_code=domain_status(exc),
                error=exc.message,
                email=form.get("email", ""),
                next=target,
                google=request.app.state.settings.google is not None,
            )
        return go(request, target, cookies=session_cookies(pair, csrf_token=viewer.csrf_token))

    @get("/register")
    async def register_page(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, await viewer_of(request), "register.html", form={})

    @post("/register")
    async def register(
        self,
        request: Request[Any, Any, Any],
        register: FromDishka[RegisterPatient],
        login: FromDishka[Login],
    ) -> Any:
        viewer = await viewer_of(request)  # checks the CSRF token
        form = await _form(request)
        try:
            await register(
                RegisterCommand(
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    full_name=form.get("full_name", ""),
                    phone=form.get("phone", "").strip() or None,
                    timezone=form.get("timezone", "").strip() or "UTC",
                    client_ip=client_ip(request),
                )
            )
        except DomainError as exc:
            return render(
                request,
                viewer,
                "register.html",
                status_code=domain_status(exc),
                error=exc.message,
                field=getattr(exc, "field", None),
                form={k: v for k, v in form.items() if k != "password"},
            )
        # Registration answers the same whether or not the address was taken (no
        # account enumeration); signing in tells the new owner apart.
        try:
            pair = await login(
                LoginCommand(
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    client_ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
            )
        except DomainError:
            return render(request, viewer, "login.html", notice=viewer.t("register.check_email"))
        return go(request, "/", cookies=session_cookies(pair, csrf_token=viewer.csrf_token))

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any], logout: FromDishka[Logout]) -> Any:
        viewer = await viewer_of(request)
        if viewer.principal is not None:
            # The access token's claims name the session: its refresh tokens go too.
            await logout(LogoutCommand(claims=viewer.principal.claims, refresh_token=None))
        return go(request, "/login", cookies=cleared_session_cookies())

    @get("/lang/{language:str}")
    async def switch_language(
        self, request: Request[Any, Any, Any], language: FromPath[str]
    ) -> Any:
        target = safe_next(request.query_params.get("next"))
        if language not in LANGUAGES:
            return go(request, target)
        cookie = Cookie(
            key=LANGUAGE_COOKIE,
            value=language,
            path="/",
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=True,
        )
        return go(request, target, cookies=[cookie])

    # ------------------------------------------------------------------ profile

    @get("/profile")
    async def profile(self, request: Request[Any, Any, Any]) -> Template:
        viewer = await viewer_of(request)
        viewer.require()
        return render(
            request,
            viewer,
            "profile.html",
            form=_profile_form(viewer.user),
            done=request.query_params.get("done"),
        )

    @post("/profile")
    async def update_profile(
        self, request: Request[Any, Any, Any], update: FromDishka[UpdateMyProfile]
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require()
        form = await _form(request)
        changes = ProfileChanges(
            full_name=form.get("full_name", "").strip(),
            phone=form.get("phone", "").strip() or None,
            timezone=form.get("timezone", "").strip() or "UTC",
            # Checkboxes are sent only when ticked: "email me" unticked = opted out.
            email_opt_out="email" not in form,
            sms_opt_out="sms" not in form,
        )
        await submit_form(
            request,
            viewer,
            "profile.html",
            lambda: update(actor, changes),
            form=form | {"email": "email" in form, "sms": "sms" in form},
        )
        return go(request, "/profile?done=saved")

    # ------------------------------------------------------------------ notifications

    @get("/bell")
    async def bell(
        self, request: Request[Any, Any, Any], inbox: FromDishka[NotificationInbox]
    ) -> Template:
        viewer = await viewer_of(request)
        unread = await inbox.unread_count(viewer.require())
        return render(request, viewer, "_bell.html", unread=unread)

    @get("/notifications")
    async def notifications(
        self, request: Request[Any, Any, Any], inbox: FromDishka[NotificationInbox]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require()
        page = await inbox.list(
            actor,
            unread_only=False,
            page=PageRequest(limit=_NOTIFICATION_PAGE, offset=0),
        )
        unread = await inbox.unread_count(actor)
        return render(
            request, viewer, "notifications.html", notifications=page.items, unread=unread
        )

    @post("/notifications/{notification_id:uuid}/read")
    async def mark_read(
        self,
        request: Request[Any, Any, Any],
        notification_id: FromPath[UUID],
        inbox: FromDishka[NotificationInbox],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require()
        await inbox.mark_read(actor, notification_id)
        return go(request, "/notifications")

    @post("/notifications/read-all")
    async def mark_all_read(
        self, request: Request[Any, Any, Any], inbox: FromDishka[NotificationInbox]
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require()
        await inbox.mark_all_read(actor)
        return go(request, "/notifications")

    @post("/notifications/{notification_id:uuid}/delete")
    async def delete_notification(
        self,
        request: Request[Any, Any, Any],
        notification_id: FromPath[UUID],
        inbox: FromDishka[NotificationInbox],
    ) -> Any:
        viewer = await viewer_of(request)
        actor = viewer.require()
        await inbox.delete(actor, notification_id)
        return go(request, "/notifications")


__all__ = ["AccountPages"]
