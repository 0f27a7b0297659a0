"""``/api/v1/auth/2fa``: two-factor sign-in for staff (TOTP authenticator apps).

* ``GET /auth/2fa``: whether the caller has an authenticator, a pending one, how many
  recovery codes are left, and whether the policy requires it.
* ``POST /auth/2fa/enrol``: a new secret, pending until confirmed: its ``otpauth://``
  URI and QR code (an SVG data URI here; ``GET /auth/2fa/enrol/qr`` serves the image).
* ``POST /auth/2fa/confirm`` {code}: the app works; answers the 10 recovery codes, once.
* ``DELETE /auth/2fa`` {code | recovery_code}: turn it off.
* ``POST /auth/2fa/verify`` {challenge, code | recovery_code}: the second step of a
  sign-in that answered 401 ``second-factor-required``; answers like ``/auth/login``.

Every route but ``verify`` is for signed-in doctors and admins, and answers an admin
session without a second factor while ``HDUCE_REQUIRE_ADMIN_2FA`` is on (they are how
that admin gets one). QR codes are drawn by ``segno``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import JSONBody
from msgspec import Meta

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
from hduce.domain.identity import Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.auth import NO_STORE
from hduce.entrypoints.http.auth.cookies import session_cookies
from hduce.entrypoints.http.auth.schemas import TokenResponse
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    BEFORE_SECOND_FACTOR,
    client_ip,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import Text
from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    problem_example,
    problem_spec,
)

if TYPE_CHECKING:
    import segno

_STAFF: Final = requires_role(Role.DOCTOR, Role.ADMIN)
_OPT: Final = {BEFORE_SECOND_FACTOR: True}
_SECRET: Final = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a documentation example
_URI: Final = (
    f"otpauth://totp/HDUCE:{demo.DOCTOR_EMAIL.replace('@', '%40')}?secret={_SECRET}&issuer=HDUCE"
)
_RECOVERY: Final = [
    "k7m2-q5xa-3fvd-p4tn",
    "w5hb-r2zc-7ejy-m6qs",
    "a3nd-t7ku-x2pw-f5lc",
]
_SVG_EXAMPLE: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="116" height="116" class="segno">'
    '<path transform="scale(4)" class="qrline" stroke="#000" d="M4 4.5h7m2 0h1..."/></svg>'
)
_CHALLENGE: Final = "Zq8pV3mN1sK7xT4bW9cY2dR6fH0jL5gA8uE3iO1yQ7w"

#: Six digits, a space allowed in the middle (as apps show them: "492 039").
TotpCode = Annotated[
    str, Meta(min_length=6, max_length=16, pattern=r"^ *[0-9]{3} ?[0-9]{3} *$", examples=["492039"])
]
#: 16 base32 characters; case, hyphens and spaces do not matter.
RecoveryCode = Annotated[
    str, Meta(min_length=16, max_length=64, pattern=r"^[A-Za-z2-7 -]+$", examples=[_RECOVERY[0]])
]
Challenge = Annotated[Text, Meta(min_length=1, max_length=512, examples=[_CHALLENGE])]

# ------------------------------------------------------------------ bodies


class ConfirmRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The code the authenticator app shows now for the new secret."""

    code: TotpCode


class ProofRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A code of the authenticator app, or one of the recovery codes (exactly one)."""

    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class VerifyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The challenge of the 401 ``second-factor-required``, and a code or a recovery code
    (exactly one)."""

    challenge: Challenge
    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None


class SecondFactorStatusView(msgspec.Struct):
    #: An authenticator is confirmed: sign-in asks for its code.
    enrolled: Annotated[bool, ex(True)]
    confirmed_at: Annotated[datetime, ex(demo.ACCOUNT_CREATED_AT)] | None
    #: A new authenticator waits for ``POST /auth/2fa/confirm``.
    pending: Annotated[bool, ex(False)]
    recovery_codes_left: Annotated[int, ex(9)]
    #: The policy requires it of this account (admins with HDUCE_REQUIRE_ADMIN_2FA).
    required: Annotated[bool, ex(False)]


class EnrolmentView(msgspec.Struct):
    """Add the secret to an authenticator app (scan the QR code, or type the secret),
    then confirm with the code it shows."""

    #: Base32; for apps that cannot scan.
    secret: Annotated[str, ex(_SECRET)]
    otpauth_uri: Annotated[str, ex(_URI)]
    #: The QR code of ``otpauth_uri`` as an SVG ``data:`` URI (an ``<img src>``).
    qr_code: Annotated[str, ex("data:image/svg+xml,%3Csvg%20xmlns...")]
    #: The same QR code as an image of its own (``image/svg+xml``).
    qr_code_url: Annotated[str, ex("/api/v1/auth/2fa/enrol/qr")]
    detail: Annotated[str, ex("scan the QR code, then POST /api/v1/auth/2fa/confirm")]


class RecoveryCodesView(msgspec.Struct):
    """Shown this once: each code signs in once instead of an authenticator code."""

    recovery_codes: Annotated[list[str], ex(_RECOVERY)]
    detail: Annotated[str, ex("two-factor sign-in is on; keep these recovery codes")]


# ------------------------------------------------------------------ documented answers

_CSRF = problem_example(
    403,
    "csrf-failed",
    "cookie-authenticated POST requests need the X-CSRF-Token header "
    "(the value of the __Host-hduce_csrf cookie)",
)
_403 = {
    403: problem_spec(
        403,
        "Patients cannot enrol (two-factor sign-in is for staff); or a cookie without the "
        "CSRF header",
        problem_example(403, "forbidden", "this requires the admin or doctor role"),
        _CSRF,
    )
}
_401 = {401: problem_spec(401, "Not authenticated")}
_429 = {
    429: problem_spec(
        429,
        "Too many wrong codes for this account (Retry-After)",
        problem_example(
            429, "rate-limited", "too many requests; retry after 600 s", retry_after_seconds=600
        ),
    )
}
_NOTHING_PENDING = problem_example(
    422,
    "no-pending-enrolment",
    "no authenticator is waiting for confirmation: start with POST /api/v1/auth/2fa/enrol",
)


def _qr(uri: str) -> segno.QRCode:
    import segno  # at the first enrolment: not kept by an idle process

    return segno.make(uri, error="m")


class TwoFactorController(Controller):
    path = "/auth/2fa"
    tags = ("auth",)
    dependencies = AUTH_DEPENDENCIES
    guards = (json_bodies_only,)

    @get(
        "/",
        guards=[_STAFF],
        opt=_OPT,
        summary="My two-factor sign-in",
        responses={**_401, **_403},
    )
    async def status(
        self, principal: NamedDependency[Principal], status: FromDishka[GetSecondFactorStatus]
    ) -> SecondFactorStatusView:
        found = await status(principal)
        return SecondFactorStatusView(
            enrolled=found.enrolled,
            confirmed_at=found.confirmed_at,
            pending=found.pending,
            recovery_codes_left=found.recovery_codes_left,
            required=found.required,
        )

    @post(
        "/enrol",
        status_code=200,
        guards=[_STAFF],
        opt=_OPT,
        summary="Start enrolling an authenticator app",
        description="A new TOTP secret (SHA-1, 6 digits, 30 s), pending until confirmed "
        "with a code from the app. Enrolling again replaces a pending secret; an "
        "authenticator already confirmed keeps working until the new one is confirmed "
        "(how to move to a new phone). The secret is stored encrypted.",
        responses={**_401, **_403, **_429},
    )
    async def enrol(
        self, principal: NamedDependency[Principal], begin: FromDishka[BeginEnrolment]
    ) -> Response[EnrolmentView]:
        started = await begin(principal)
        view = EnrolmentView(
            secret=started.secret,
            otpauth_uri=started.otpauth_uri,
            qr_code=_qr(started.otpauth_uri).svg_data_uri(scale=4),
            qr_code_url="/api/v1/auth/2fa/enrol/qr",
            detail="add this secret to an authenticator app (scan the QR code), then "
            "POST /api/v1/auth/2fa/confirm with the code it shows",
        )
        return Response(view, headers=NO_STORE)

    @get(
        "/enrol/qr",
        guards=[_STAFF],
        opt=_OPT,
        summary="The QR code of the pending authenticator (SVG)",
        media_type="image/svg+xml",
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="image/svg+xml",
                description="The QR code of the pending secret's otpauth:// URI",
                generate_examples=False,
                examples=[Example(summary="a QR code (shortened)", value=_SVG_EXAMPLE)],
            ),
            **_401,
            **_403,
            422: problem_spec(422, "Nothing is pending", _NOTHING_PENDING),
        },
    )
    async def qr(
        self, principal: NamedDependency[Principal], pending: FromDishka[PendingEnrolmentUri]
    ) -> Response[bytes]:
        uri = await pending(principal)
        svg = _qr(uri).svg_inline(scale=4).encode("utf-8")
        return Response(svg, media_type="image/svg+xml", headers=NO_STORE)

    @post(
        "/confirm",
        status_code=200,
        guards=[_STAFF],
        opt=_OPT,
        summary="Confirm the authenticator app; get the recovery codes",
        description="With a code the app shows now, the pending secret becomes the "
        "account's authenticator: from then on signing in asks for a code. Answers 10 "
        "recovery codes, only this once (only their hashes are kept); confirming again "
        "later replaces them. The session that confirmed counts as signed in with two "
        "factors.",
        responses={
            400: problem_spec(
                400,
                "The code does not match the new secret (or a malformed body)",
                invalid_input_example(
                    "code",
                    "this code does not match the new authenticator; check the time on "
                    "your phone and enter the code it shows now",
                ),
                invalid_request_example("code", "Object missing required field `code`"),
            ),
            **_401,
            **_403,
            422: problem_spec(422, "Nothing is pending", _NOTHING_PENDING),
            **_429,
        },
    )
    async def confirm(
        self,
        data: JSONBody[ConfirmRequest],
        principal: NamedDependency[Principal],
        confirm: FromDishka[ConfirmEnrolment],
    ) -> Response[RecoveryCodesView]:
        codes = await confirm(principal, data.code)
        view = RecoveryCodesView(
            recovery_codes=codes,
            detail="two-factor sign-in is on; keep these recovery codes somewhere safe: "
            "each signs in once without the app, and they are not shown again",
        )
        return Response(view, headers=NO_STORE)

    @delete(
        "/",
        status_code=204,
        guards=[_STAFF],
        opt=_OPT,
        summary="Turn two-factor sign-in off",
        description="Needs a current code of the app or a recovery code. Refused to "
        "admins while HDUCE_REQUIRE_ADMIN_2FA is on (they enrol a new app instead).",
        responses={
            204: ResponseSpec(
                data_container=None,
                description="Off: sign-in asks for the password only",
                generate_examples=False,
            ),
            400: problem_spec(
                400,
                "The code is wrong or used already",
                invalid_input_example(
                    "code", "this code is not right; check the time on your phone and try again"
                ),
            ),
            **_401,
            **_403,
            422: problem_spec(
                422,
                "Required by the policy",
                problem_example(
                    422,
                    "second-factor-required-by-policy",
                    "two-factor sign-in is required for admins here; to change phones, "
                    "enrol the new one (POST /api/v1/auth/2fa/enrol) and confirm it",
                ),
            ),
            **_429,
        },
    )
    async def remove(
        self,
        data: JSONBody[ProofRequest],
        principal: NamedDependency[Principal],
        remove: FromDishka[RemoveSecondFactor],
    ) -> None:
        await remove(principal, SecondFactorProof(data.code, data.recovery_code))

    @post(
        "/verify",
        status_code=200,
        opt=_OPT,
        summary="Finish a sign-in with the second factor",
        description="After `POST /auth/login` (or the Google callback) answered 401 "
        "`second-factor-required` with a `challenge`: send it with the code the app shows "
        "now, or a recovery code. Answers the token pair and sets the session cookies, "
        "like `/auth/login`; the session is remembered as two-factor (refreshing it does "
        "not ask again). A code is accepted once; a challenge dies after 5 wrong codes "
        "or 5 minutes.",
        responses={
            400: problem_spec(
                400,
                "Neither or both of code and recovery_code, or a malformed body",
                invalid_input_example("code", "send either code or recovery_code"),
            ),
            401: problem_spec(
                401,
                "Wrong or replayed code, or a dead challenge",
                problem_example(
                    401,
                    "unauthenticated",
                    "this code is not right; check the time on your phone and try again",
                ),
                problem_example(
                    401,
                    "unauthenticated",
                    "this code was used already; wait for the next one and enter it",
                    summary="unauthenticated: replayed code",
                ),
                problem_example(
                    401,
                    "unauthenticated",
                    "too many wrong codes for this sign-in; sign in again",
                    summary="unauthenticated: dead challenge",
                ),
            ),
            **_429,
        },
    )
    async def verify(
        self,
        data: JSONBody[VerifyRequest],
        request: Request[Any, Any, Any],
        verify: FromDishka[VerifySecondFactor],
    ) -> Response[TokenResponse]:
        pair = await verify(
            VerifyCommand(
                challenge=data.challenge,
                proof=SecondFactorProof(data.code, data.recovery_code),
                client_ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
        )
        return Response(TokenResponse.of(pair), cookies=session_cookies(pair), headers=NO_STORE)
