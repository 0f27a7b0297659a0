"""``/api/v1/auth``: password reset, email verification and a walk-in's first password,
by emailed link."""

from __future__ import annotations

from typing import Any, Final

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hduce.application.identity.email_links import (
    EXPIRED_LINK,
    INVALID_LINK,
    USED_LINK,
    PasswordResetCommand,
    RequestPasswordReset,
    ResendEmailVerification,
    ResetPassword,
    ResetPasswordCommand,
    SetFirstPassword,
    VerifyEmail,
)
from hduce.domain.identity import Actor
from hduce.entrypoints.http.auth.auth import NO_STORE
from hduce.entrypoints.http.auth.link_schemas import (
    PASSWORD_RESET_DONE,
    PASSWORD_SET,
    RESET_REQUESTED,
    VERIFICATION_SENT,
    DetailView,
    EmailVerifiedView,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    VerifyEmailRequest,
)
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    client_ip,
    json_bodies_only,
    requires_auth,
)
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    problem_example,
    problem_spec,
)

_RATE_LIMITED: Final = {
    429: problem_spec(
        429,
        "Too many links asked for (Retry-After)",
        problem_example(
            429, "rate-limited", "too many requests; retry after 600 s", retry_after_seconds=600
        ),
    )
}
_GONE: Final = {
    410: problem_spec(
        410,
        "The link was used already (`token-used`) or has expired (`token-expired`)",
        problem_example(410, "token-used", USED_LINK, summary="token-used"),
        problem_example(410, "token-expired", EXPIRED_LINK, summary="token-expired"),
    )
}
_INVALID_TOKEN: Final = problem_example(400, "invalid-token", INVALID_LINK)


class AccountLinksController(Controller):
    path = "/auth"
    tags = ("auth",)
    dependencies = AUTH_DEPENDENCIES
    guards = (json_bodies_only,)

    @post(
        "/password-reset",
        status_code=202,
        summary="Email me a link to reset my password",
        response_description="Received: the same answer whether or not the address has an account",
        description="If the address belongs to an active account, a single-use link to "
        "`<HDUCE_PUBLIC_URL>/reset-password?token=...` is emailed to it; it works for "
        "`HDUCE_PASSWORD_RESET_TTL` (30 minutes by default). The answer is the same `202`, "
        "in the same time, for any address, so it tells nobody which addresses are "
        "registered. Limited per address and per client (`429` with `Retry-After`).",
        responses={
            400: problem_spec(
                400,
                "Malformed body; `errors` names the field",
                invalid_request_example("email", "Object missing required field `email`"),
            ),
            **_RATE_LIMITED,
        },
    )
    async def request_password_reset(
        self,
        data: JSONBody[PasswordResetRequest],
        request: Request[Any, Any, Any],
        reset: FromDishka[RequestPasswordReset],
    ) -> Response[DetailView]:
        await reset(PasswordResetCommand(email=data.email, client_ip=client_ip(request)))
        return Response(DetailView(RESET_REQUESTED), status_code=202, headers=NO_STORE)

    @post(
        "/password-reset/confirm",
        status_code=200,
        summary="Set a new password with the emailed link's token",
        description="Uses the link up (a second use answers `410 token-used`), sets the "
        "password (same rules as registering), signs the account out everywhere (every "
        "refresh token revoked, every access token refused) and emails the owner that the "
        "password was changed. A password the rules refuse leaves the link usable.",
        responses={
            400: problem_spec(
                400,
                "Unknown token (`invalid-token`), a password the rules refuse "
                "(`invalid-input`), or a malformed body",
                _INVALID_TOKEN,
                invalid_input_example("password", "the password must have at least 10 characters"),
                invalid_request_example("token", "Expected `str` of length >= 1"),
            ),
            **_GONE,
        },
    )
    async def confirm_password_reset(
        self,
        data: JSONBody[PasswordResetConfirmRequest],
        reset: FromDishka[ResetPassword],
    ) -> Response[DetailView]:
        await reset(ResetPasswordCommand(token=data.token, new_password=data.new_password))
        return Response(DetailView(PASSWORD_RESET_DONE), headers=NO_STORE)

    @post(
        "/password-setup",
        status_code=200,
        summary="Set the first password of an account made at the desk, with the emailed link",
        description="For a walk-in patient's account, made by an admin without a password: "
        "the link mailed to it (`<HDUCE_PUBLIC_URL>/set-password?token=...`) sets the "
        "password (same rules as registering) and confirms the address; then the account "
        "signs in with `POST /auth/login`. The link works once (`410 token-used`), also "
        "when the password was set meanwhile by another link. A password the rules refuse "
        "leaves the link usable.",
        responses={
            400: problem_spec(
                400,
                "Unknown token (`invalid-token`), a password the rules refuse "
                "(`invalid-input`), or a malformed body",
                _INVALID_TOKEN,
                invalid_input_example("password", "the password must have at least 10 characters"),
                invalid_request_example("token", "Expected `str` of length >= 1"),
            ),
            **_GONE,
        },
    )
    async def set_first_password(
        self,
        data: JSONBody[PasswordResetConfirmRequest],
        set_password: FromDishka[SetFirstPassword],
    ) -> Response[DetailView]:
        await set_password(ResetPasswordCommand(token=data.token, new_password=data.new_password))
        return Response(DetailView(PASSWORD_SET), headers=NO_STORE)

    @post(
        "/verify-email",
        status_code=200,
        summary="Confirm my email address with the emailed link's token",
        description="No sign-in needed (the link may be opened on another device). Once "
        "confirmed, `GET /auth/me` shows `email_verified: true` and the account may book "
        "(`HDUCE_REQUIRE_VERIFIED_EMAIL_TO_BOOK`). The link works once.",
        responses={
            400: problem_spec(
                400,
                "Unknown token (`invalid-token`) or a malformed body",
                _INVALID_TOKEN,
                invalid_request_example("token", "Object missing required field `token`"),
            ),
            **_GONE,
        },
    )
    async def verify_email(
        self, data: JSONBody[VerifyEmailRequest], verify: FromDishka[VerifyEmail]
    ) -> EmailVerifiedView:
        return EmailVerifiedView.of(await verify(data.token))

    @post(
        "/verify-email/resend",
        status_code=202,
        guards=[requires_auth],
        summary="Email me a new link to confirm my address",
        description="For a signed-in account whose address is not confirmed yet; earlier "
        "links keep working until they expire. Limited per account.",
        responses={
            401: problem_spec(401, "Not authenticated"),
            422: problem_spec(
                422,
                "The address is confirmed already",
                problem_example(
                    422, "email-already-verified", "your email address is verified already"
                ),
            ),
            **_RATE_LIMITED,
        },
    )
    async def resend_verification(
        self, actor: NamedDependency[Actor], resend: FromDishka[ResendEmailVerification]
    ) -> Response[DetailView]:
        await resend(actor)
        return Response(DetailView(VERIFICATION_SENT), status_code=202, headers=NO_STORE)
