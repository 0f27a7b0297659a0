"""Request and response bodies of the identity endpoints (msgspec, validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.identity.accounts import RegistrationReceived
from hduce.application.identity.sessions import TokenPair
from hduce.domain.identity import Role, User
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import PlainText, Text

Email = Annotated[PlainText, Meta(min_length=1, max_length=320, examples=[demo.PATIENT_EMAIL])]
# Long enough for any passphrase; the policy (10..256 after normalisation) is the real rule.
Password = Annotated[Text, Meta(min_length=1, max_length=1024, examples=["Tortilla-Sunrise-2030"])]
FullName = Annotated[PlainText, Meta(min_length=1, max_length=200, examples=[demo.PATIENT_NAME])]
#: E.164 (``domain.identity.validate_phone``), spaces allowed; "" means none.
PHONE_PATTERN: Final = r"^( *\+ *[1-9]( *\d){6,14} *)?$"
# Documented; ``validate_phone`` refuses the rest (400 ``invalid-input`` naming the field).
Phone = Annotated[
    Text,
    Meta(
        max_length=32,
        examples=[demo.PATIENT_PHONE],
        extra_json_schema={"extra": {"pattern": PHONE_PATTERN}},
    ),
]
Timezone = Annotated[Text, Meta(min_length=1, max_length=64, examples=[demo.TIMEZONE])]
OpaqueToken = Annotated[Text, Meta(min_length=1, max_length=512, examples=[demo.REFRESH_OPAQUE])]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: FullName
    phone: Phone | None = None
    timezone: Timezone | None = None


#: What a registration answers, whether the address was free or had an account already.
REGISTRATION_RECEIVED: Final = (
    "Registration received. If this address had no account yet, yours is ready: sign in "
    "with the password you chose."
)


class RegistrationReceivedView(msgspec.Struct):
    """The one answer to a registration: it does not tell whether the address was taken
    (its owner is told by email instead)."""

    email: Annotated[str, Meta(description="The address as stored", examples=[demo.PATIENT_EMAIL])]
    detail: Annotated[str, Meta(examples=[REGISTRATION_RECEIVED])]

    @classmethod
    def of(cls, received: RegistrationReceived) -> RegistrationReceivedView:
        return cls(email=received.email, detail=REGISTRATION_RECEIVED)


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    # Not checked as an email here: a malformed address gets the same 401 as a wrong one.
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Omit ``refresh_token`` (or the whole body) to use the refresh cookie instead."""

    refresh_token: OpaqueToken | None = None


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: OpaqueToken | None = None


class UpdateMeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; ``"phone": null`` removes the phone number."""

    full_name: FullName | UnsetType = UNSET
    phone: Phone | UnsetType | None = UNSET
    timezone: Timezone | UnsetType = UNSET
    email_opt_out: Annotated[bool, ex(False)] | UnsetType = UNSET
    sms_opt_out: Annotated[bool, ex(True)] | UnsetType = UNSET


class UserView(msgspec.Struct):
    id: Annotated[UUID, ex(demo.PATIENT_ID)]
    email: Annotated[str, ex(demo.PATIENT_EMAIL)]
    full_name: Annotated[str, ex(demo.PATIENT_NAME)]
    role: Role
    phone: Annotated[str, ex(demo.PATIENT_PHONE)] | None
    timezone: Annotated[str, ex(demo.TIMEZONE)]
    is_active: Annotated[bool, ex(True)]
    email_opt_out: Annotated[bool, ex(False)]
    sms_opt_out: Annotated[bool, ex(False)]
    has_password: Annotated[bool, ex(True)]
    google_linked: Annotated[bool, ex(False)]
    created_at: Annotated[datetime, ex(demo.ACCOUNT_CREATED_AT)]
    #: Whether the owner proved the address (the emailed link, Google, an admin).
    email_verified: Annotated[bool, ex(True)]
    #: The institution an admin is scoped to (ADR 0026); null: every institution (a
    #: global admin), and always for patients and doctors.
    institution_scope: Annotated[UUID | None, ex(None, demo.INSTITUTION_ID)] = None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            phone=user.phone,
            timezone=user.timezone,
            is_active=user.is_active,
            email_opt_out=user.email_opt_out,
            sms_opt_out=user.sms_opt_out,
            has_password=user.password_hash is not None,
            google_linked=user.google_subject is not None,
            created_at=user.created_at,
            email_verified=user.email_verified,
            institution_scope=user.admin_institution_id,
        )


class TokenResponse(msgspec.Struct):
    #: A JWT: send it as ``Authorization: Bearer <access_token>``.
    access_token: Annotated[str, ex(demo.ACCESS_JWT)]
    #: Opaque and single use: trade it at ``POST /auth/refresh`` for a new pair.
    refresh_token: Annotated[str, ex(demo.REFRESH_OPAQUE)]
    #: Seconds the access token is valid for.
    expires_in: Annotated[int, ex(900)]
    #: Seconds the refresh token is valid for.
    refresh_expires_in: Annotated[int, ex(2_592_000)]
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        refresh_seconds = (pair.refresh_expires_at - pair.access.issued_at).total_seconds()
        return cls(
            access_token=pair.access.token,
            refresh_token=pair.refresh_token,
            expires_in=pair.access.expires_in,
            refresh_expires_in=max(0, int(refresh_seconds)),
        )
