"""Bodies of the service-client administration (JSON) and of the OAuth token
introspection and revocation endpoints (RFC 7662, RFC 7009: form-encoded requests,
JSON answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hduce.application.identity.service_clients import (
    MAX_CLIENT_NAME_LENGTH,
    Introspection,
    RegisteredClient,
)
from hduce.application.ports import ServiceClient
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import PlainText, Text

CLIENT_ID: Final = "svc_Xb3kP0q9LmT2vW8y"
CLIENT_SECRET: Final = "Zr4mQ8tY2vK6nB1xC9wE3sD7fG5hJ0lP-aU_oI2eR4t"  # noqa: S105 - an example
CREATED_AT: Final = "2030-01-02T09:30:00Z"
#: The admin who registered the example client.
ADMIN_ID: Final = "01b6f1c2-7a40-7e11-9b2c-3d4e5f6a7b8c"

ClientName = Annotated[
    PlainText, Meta(min_length=1, max_length=MAX_CLIENT_NAME_LENGTH, examples=["Radiology PACS"])
]
#: A token to introspect or revoke: an access token (JWT) or a refresh token.
TokenField = Annotated[Text, Meta(min_length=1, max_length=8192, examples=[demo.ACCESS_JWT])]
ClientIdField = Annotated[Text, Meta(min_length=1, max_length=100, examples=[CLIENT_ID])]
ClientSecretField = Annotated[Text, Meta(min_length=1, max_length=256, examples=[CLIENT_SECRET])]
#: RFC 7662 §2.1 / RFC 7009 §2.1: only orders the lookups; an unknown value is ignored.
TokenTypeHint = Annotated[Text, Meta(max_length=64, examples=["access_token"])]


# ------------------------------------------------------------------ admin


class NewServiceClient(msgspec.Struct, forbid_unknown_fields=True):
    name: ClientName


class ServiceClientView(msgspec.Struct):
    client_id: Annotated[str, ex(CLIENT_ID)]
    name: Annotated[str, ex("Radiology PACS")]
    created_at: Annotated[datetime, ex(CREATED_AT)]
    created_by: Annotated[UUID | None, ex(ADMIN_ID)]
    #: Set once the client is revoked: its credentials no longer work.
    revoked_at: Annotated[datetime | None, ex(None)]
    is_active: Annotated[bool, ex(True)]

    @classmethod
    def of(cls, client: ServiceClient) -> ServiceClientView:
        return cls(
            client_id=client.client_id,
            name=client.name,
            created_at=client.created_at,
            created_by=client.created_by,
            revoked_at=client.revoked_at,
            is_active=client.is_active,
        )


class RegisteredServiceClientView(msgspec.Struct):
    """The new client and its secret: shown this once, never stored (only its hash)."""

    client_id: Annotated[str, ex(CLIENT_ID)]
    client_secret: Annotated[str, ex(CLIENT_SECRET)]
    name: Annotated[str, ex("Radiology PACS")]
    created_at: Annotated[datetime, ex(CREATED_AT)]

    @classmethod
    def of(cls, registered: RegisteredClient) -> RegisteredServiceClientView:
        client = registered.client
        return cls(
            client_id=client.client_id,
            client_secret=registered.client_secret,
            name=client.name,
            created_at=client.created_at,
        )


class ServiceClientList(msgspec.Struct):
    items: list[ServiceClientView]


# ------------------------------------------------------------------ OAuth


class _TokenForm(msgspec.Struct, forbid_unknown_fields=True):
    token: TokenField
    # Absent rather than null: a form has no null.
    token_type_hint: TokenTypeHint | UnsetType = UNSET
    client_id: ClientIdField | UnsetType = UNSET
    client_secret: ClientSecretField | UnsetType = UNSET

    @property
    def hint(self) -> str | None:
        return None if isinstance(self.token_type_hint, UnsetType) else self.token_type_hint

    @property
    def posted_credentials(self) -> tuple[str | None, str | None]:
        """``client_secret_post``: what the form says, None for a field left out."""
        client_id = None if isinstance(self.client_id, UnsetType) else self.client_id
        secret = None if isinstance(self.client_secret, UnsetType) else self.client_secret
        return client_id, secret


class IntrospectionRequest(_TokenForm, forbid_unknown_fields=True):
    """RFC 7662 §2.1. ``client_id``/``client_secret`` only with client_secret_post
    (without an ``Authorization: Basic`` header)."""


class RevocationRequest(_TokenForm, forbid_unknown_fields=True):
    """RFC 7009 §2.1. ``client_id``/``client_secret`` only with client_secret_post."""


def _seconds(instant: datetime | None) -> int | None:
    return None if instant is None else int(instant.timestamp())


class IntrospectionResponse(msgspec.Struct, omit_defaults=True):
    """RFC 7662 §2.2: ``active`` alone for a token that is not live (invalid, expired,
    revoked, of a deactivated account, unknown); otherwise what it says."""

    active: Annotated[bool, ex(True)]
    token_type: Annotated[str | None, ex("access_token")] = None
    sub: Annotated[str | None, ex(demo.PATIENT_ID)] = None
    #: The account's role now (patient, doctor or admin).
    role: Annotated[str | None, ex("patient")] = None
    iat: Annotated[int | None, ex(1893605700)] = None
    exp: Annotated[int | None, ex(1893606600)] = None
    iss: Annotated[str | None, ex("hduce")] = None
    aud: Annotated[str | None, ex("hduce-api")] = None
    jti: Annotated[str | None, ex("4c9a0f3e2b1d4e6f8a7b5c3d2e1f0a9b")] = None
    #: The session (refresh-token family) the token belongs to.
    sid: Annotated[str | None, ex("01b8e3b1-f2bf-7c3a-8d52-1e9f6b0a4c83")] = None

    @classmethod
    def of(cls, found: Introspection, *, issuer: str, audience: str) -> IntrospectionResponse:
        if not found.active:
            return cls(active=False)
        access = found.token_type == "access_token"  # noqa: S105 - RFC 7662 name
        return cls(
            active=True,
            token_type=found.token_type,
            sub=str(found.sub) if found.sub else None,
            role=found.role,
            iat=_seconds(found.issued_at),
            exp=_seconds(found.expires_at),
            iss=issuer,
            aud=audience if access else None,
            jti=found.jti,
            sid=str(found.session_id) if found.session_id else None,
        )
