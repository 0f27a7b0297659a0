"""Console pages of an account's security: the emailed links (forgot password, reset
password, confirm the address: ADR 0015), the sessions (ADR 0014), changing the
password, notification preferences per channel and kind (ADR 0024), and two-factor
sign-in for staff (ADR 0017): enrolment with a QR code, and the code step of sign-in.

The emailed links open ``HDUCE_PUBLIC_URL`` + ``/reset-password?token=…`` and
``/verify-email?token=…`` (``application/identity/email_links.LINK_PATHS``): these
pages, when the console is served at that URL. Opening a link only shows a form: the
token is used by the form's POST, so a mail scanner that fetches links uses nothing up.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.identity.devices import ListSessions, RevokeOtherSessions, RevokeSession
from hduce.application.identity.email_links import (
    PasswordResetCommand,
    RequestPasswordReset,
    ResendEmailVerification,
    ResetPassword,
    ResetPasswordCommand,
    VerifyEmail,
)
from hduce.application.identity.password_change import ChangePassword, ChangePasswordCommand
from hduce.application.identity.sessions import Principal
from hduce.application.identity.two_factor.challenge import VerifyCommand, VerifySecondFactor
from hduce.application.identity.two_factor.common import SecondFactorProof
from hduce.application.identity.two_factor.enrolment import (
    BeginEnrolment,
    ConfirmEnrolment,
    GetSecondFactorStatus,
    PendingEnrolmentUri,
    RemoveSecondFactor,
)
from hduce.application.notifications.preferences import (
    GetNotificationPreferences,
    UpdateNotificationPreferences,
)
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role
from hduce.domain.notifications import Channel
from hduce.entrypoints.http.auth.cookies import cleared_session_cookies, session_cookies
from hduce.entrypoints.http.auth.security import client_ip
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.views import Viewer, go, render, safe_next, viewer_of

CHANNELS: Final = tuple(Channel)
_MAX_FIELD: Final = 1024


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value)[:_MAX_FIELD] for key, value in form.items() if isinstance(value, str)}


def _principal(viewer: Viewer, *roles: Role) -> Principal:
    viewer.require(*roles)
    if viewer.principal is None:  # require() refused a signed-out viewer already
        raise AuthenticationFailed("authentication required")
    return viewer.principal


def qr_data_uri(uri: str) -> str:
    """The ``otpauth://`` URI as a QR code, an SVG ``data:`` URI (the CSP allows
    ``img-src data:``), drawn by segno as the API's enrolment does."""
    import segno  # at the first enrolment: not kept by an idle process

    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=4))


class AccountLinkPages(Controller):
    """Forgot password, the reset and verification links, a new verification link."""

    include_in_schema = False

    @get("/forgot-password")
    async def forgot_page(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, await viewer_of(request), "forgot_password.html", email="")

    @post("/forgot-password")
    async def forgot(
        self, request: Request[Any, Any, Any], reset: FromDishka[RequestPasswordReset]
    ) -> Template:
        viewer = await viewer_of(request)
        form = await _form(request)
        email = form.get("email", "").strip()
        await submit_form(
            request,
            viewer,
            "forgot_password.html",
            lambda: reset(PasswordResetCommand(email=email, client_ip=client_ip(request))),
            email=email,
        )
        # The same answer whether or not the address has an account.
        return render(
            request, viewer, "forgot_password.html", email=email, notice=viewer.t("links.sent")
        )

    @get("/reset-password")
    async def reset_page(self, request: Request[Any, Any, Any]) -> Template:
        return render(
            request,
            await viewer_of(request),
            "reset_password.html",
            token=(request.query_params.get("token") or "")[:_MAX_FIELD],
        )

    @post("/reset-password")
    async def reset(
        self, request: Request[Any, Any, Any], reset: FromDishka[ResetPassword]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        form = await _form(request)
        token = form.get("token", "")
        await submit_form(
            request,
            viewer,
            "reset_password.html",
            lambda: reset(
                ResetPasswordCommand(token=token, new_password=form.get("new_password", ""))
            ),
            token=token,
        )
        # Every session of the account ended, this browser's too (if it had one).
        return go(request, "/login?done=reset", cookies=_signed_out(viewer))

    @get("/verify-email")
    async def verify_page(self, request: Request[Any, Any, Any]) -> Template:
        return render(
            request,
            await viewer_of(request),
            "verify_email.html",
            token=(request.query_params.get("token") or "")[:_MAX_FIELD],
            verified=False,
        )

    @post("/verify-email")
    async def verify(
        self, request: Request[Any, Any, Any], verify: FromDishka[VerifyEmail]
    ) -> Template:
        viewer = await viewer_of(request)
        form = await _form(request)
        token = form.get("token", "")
        user = await submit_form(
            request,
            viewer,
            "verify_email.html",
            lambda: verify(token),
            token=token,
            verified=False,
        )
        return render(request, viewer, "verify_email.html", verified=True, email=user.email)

    @post("/verify-email/resend")
    async def resend(
        self, request: Request[Any, Any, Any], resend: FromDishka[ResendEmailVerification]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        await resend(viewer.require())
        return go(request, "/profile?done=verification_sent")

    @post("/login/second-factor")
    async def second_factor(
        self, request: Request[Any, Any, Any], verify: FromDishka[VerifySecondFactor]
    ) -> Response[Any]:
        """The code step of a sign-in whose password was right (``account.login`` drew
        this form with the challenge)."""
        viewer = await viewer_of(request)  # checks the CSRF token
        form = await _form(request)
        target = safe_next(form.get("next"))
        challenge = form.get("challenge", "")
        code = form.get("code", "").strip()
        recovery = form.get("recovery_code", "").strip()
        proof = SecondFactorProof(code=code or None, recovery_code=None if code else recovery)
        pair = await submit_form(
            request,
            viewer,
            "second_factor.html",
            lambda: verify(
                VerifyCommand(
                    challenge=challenge,
                    proof=proof,
                    client_ip=client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                )
            ),
            challenge=challenge,
            next=target,
        )
        return go(request, target, cookies=session_cookies(pair, csrf_token=viewer.csrf_token))


def _signed_out(viewer: Viewer) -> list[Any]:
    return cleared_session_cookies() if viewer.principal is not None else []


class SecurityPages(Controller):
    """The signed-in person's sessions, password, notification choices and 2FA."""

    path = "/profile"
    include_in_schema = False

    # ------------------------------------------------------------------ sessions

    @get("/sessions")
    async def sessions(
        self, request: Request[Any, Any, Any], list_sessions: FromDishka[ListSessions]
    ) -> Template:
        viewer = await viewer_of(request)
        principal = _principal(viewer)
        listed = await list_sessions(
            principal.actor, principal.user.id, current=principal.claims.session_id
        )
        ordered = sorted(
            listed.sessions, key=lambda s: (s.id != listed.current, -s.last_used_at.timestamp())
        )
        return render(
            request,
            viewer,
            "profile_sessions.html",
            sessions=ordered,
            current=listed.current,
            done=request.query_params.get("done"),
        )

    @post("/sessions/{session_id:uuid}/revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[UUID],
        revoke: FromDishka[RevokeSession],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        principal = _principal(viewer)
        await revoke(principal.actor, principal.user.id, session_id)
        if session_id == principal.claims.session_id:
            return go(request, "/login", cookies=cleared_session_cookies())  # a sign-out
        return go(request, "/profile/sessions?done=revoked")

    @post("/sessions/revoke-others")
    async def revoke_others(
        self, request: Request[Any, Any, Any], revoke: FromDishka[RevokeOtherSessions]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        principal = _principal(viewer)
        await revoke(principal.actor, principal.user.id, keep=principal.claims.session_id)
        return go(request, "/profile/sessions?done=others_revoked")

    # ------------------------------------------------------------------ password

    @get("/password")
    async def password_page(self, request: Request[Any, Any, Any]) -> Template:
        viewer = await viewer_of(request)
        viewer.require()
        return render(
            request, viewer, "profile_password.html", done=request.query_params.get("done")
        )

    @post("/password")
    async def change_password(
        self, request: Request[Any, Any, Any], change: FromDishka[ChangePassword]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        principal = _principal(viewer)
        form = await _form(request)
        command = ChangePasswordCommand(
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
            session_id=principal.claims.session_id,
        )
        await submit_form(
            request, viewer, "profile_password.html", lambda: change(principal.actor, command)
        )
        return go(request, "/profile/password?done=changed")

    # ------------------------------------------------------------------ notifications

    @get("/notifications")
    async def preferences(
        self,
        request: Request[Any, Any, Any],
        get_preferences: FromDishka[GetNotificationPreferences],
    ) -> Template:
        viewer = await viewer_of(request)
        preferences = await get_preferences(viewer.require())
        return render(
            request,
            viewer,
            "profile_notifications.html",
            preferences=preferences,
            channels=CHANNELS,
            done=request.query_params.get("done"),
        )

    @post("/notifications")
    async def save_preferences(
        self,
        request: Request[Any, Any, Any],
        get_preferences: FromDishka[GetNotificationPreferences],
        update: FromDishka[UpdateNotificationPreferences],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require()
        form = await _form(request)
        current = await get_preferences(actor)
        # A ticked box is sent as "<kind>:<channel>"; every switch of the table is set.
        switches = {
            kind: {channel.value: f"{kind}:{channel.value}" in form for channel in channels}
            for kind, channels in current.kinds.items()
        }
        await update(actor, switches)
        return go(request, "/profile/notifications?done=saved")

    # ------------------------------------------------------------------ two-factor

    @get("/2fa")
    async def two_factor(
        self, request: Request[Any, Any, Any], status: FromDishka[GetSecondFactorStatus]
    ) -> Template:
        viewer = await viewer_of(request)
        principal = _principal(viewer, Role.DOCTOR, Role.ADMIN)
        return render(
            request,
            viewer,
            "profile_2fa.html",
            status=await status(principal),
            done=request.query_params.get("done"),
        )

    @post("/2fa/enrol")
    async def enrol(
        self, request: Request[Any, Any, Any], begin: FromDishka[BeginEnrolment]
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        await begin(_principal(viewer, Role.DOCTOR, Role.ADMIN))
        # The QR code is drawn by the GET, so a reload keeps showing the same one.
        return go(request, "/profile/2fa/confirm")

    @get("/2fa/confirm")
    async def confirm_page(
        self, request: Request[Any, Any, Any], pending_uri: FromDishka[PendingEnrolmentUri]
    ) -> Template:
        viewer = await viewer_of(request)
        uri = await pending_uri(_principal(viewer, Role.DOCTOR, Role.ADMIN))
        return render(request, viewer, "profile_2fa_confirm.html", **_enrolment(uri))

    @post("/2fa/confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        confirm: FromDishka[ConfirmEnrolment],
        pending_uri: FromDishka[PendingEnrolmentUri],
    ) -> Template:
        viewer = await viewer_of(request)
        principal = _principal(viewer, Role.DOCTOR, Role.ADMIN)
        form = await _form(request)
        uri = await pending_uri(principal)
        codes = await submit_form(
            request,
            viewer,
            "profile_2fa_confirm.html",
            lambda: confirm(principal, form.get("code", "")),
            **_enrolment(uri),
        )
        # The only time the recovery codes are shown.
        return render(request, viewer, "profile_2fa_codes.html", codes=codes)

    @post("/2fa/remove")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        remove: FromDishka[RemoveSecondFactor],
        status: FromDishka[GetSecondFactorStatus],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        principal = _principal(viewer, Role.DOCTOR, Role.ADMIN)
        form = await _form(request)
        code = form.get("code", "").strip()
        recovery = form.get("recovery_code", "").strip()
        proof = SecondFactorProof(code=code or None, recovery_code=None if code else recovery)

        async def current_status(_: Any) -> dict[str, Any]:
            return {"status": await status(principal)}

        await submit_form(
            request,
            viewer,
            "profile_2fa.html",
            lambda: remove(principal, proof),
            more=current_status,
        )
        return go(request, "/profile/2fa?done=removed")


def _enrolment(uri: str) -> dict[str, Any]:
    secret = uri.split("secret=", 1)[1].split("&", 1)[0] if "secret=" in uri else ""
    return {"qr": qr_data_uri(uri), "secret": secret}


__all__ = ["AccountLinkPages", "SecurityPages", "qr_data_uri"]
