"""Request and response bodies of the identity endpoints (msgspec, validated at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.identity import TokenPair
from hduce.application.ports import Page
from hduce.domain.identity import Role, User

Email = Annotated[str, Meta(min_length=1, max_length=320, examples=["ana@example.org"])]
# Long enough for any passphrase; the policy (10..256 after normalisation) is the real rule.
Password = Annotated[str, Meta(min_length=1, max_length=1024)]
FullName = Annotated[str, Meta(min_length=1, max_length=200, examples=["Ana Torres"])]
Phone = Annotated[str, Meta(max_length=32, examples=["+34600111222"])]
Timezone = Annotated[str, Meta(min_length=1, max_length=64, examples=["Europe/Madrid"])]
OpaqueToken = Annotated[str, Meta(min_length=1, max_length=512)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: FullName
    phone: Phone | None = None
    timezone: Timezone | None = None


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
    email_opt_out: bool | UnsetType = UNSET
    sms_opt_out: bool | UnsetType = UNSET


class AdminUserPatch(msgspec.Struct, forbid_unknown_fields=True):
    is_active: bool


class UserView(msgspec.Struct):
    id: UUID
    email: str
    full_name: str
    role: Role
    phone: str | None
    timezone: str
    is_active: bool
    email_opt_out: bool
    sms_opt_out: bool
    has_password: bool
    google_linked: bool
    created_at: datetime

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
        )


class UserPage(msgspec.Struct):
    items: list[UserView]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[User]) -> UserPage:
        return cls(
            items=[UserView.of(user) for user in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )


class TokenResponse(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
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
