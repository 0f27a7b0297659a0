"""Tokens for other services: registered service clients, token introspection
(RFC 7662) and token revocation (RFC 7009). ADR 0016.

An admin registers a client (a hospital service) and hands its secret over once; the
client then authenticates with ``client_id`` and that secret to ask whether an HDUCE
token is live and whose it is, or to revoke one. Only the SHA-256 of the secret is
stored: it is 256 random bits, so a slow password hash would add nothing against
guessing and would cost tens of milliseconds of CPU on every introspection, which other
services call on every request they serve.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.identity import security_events as events
from hduce.application.identity.policy import MAX_OPAQUE_TOKEN_LENGTH
from hduce.application.identity.sessions import Authenticate, Logout, LogoutCommand
from hduce.application.ports import (
    AccessTokenVerifier,
    Clock,
    RefreshTokenStore,
    ServiceClient,
    ServiceClientStore,
    UnitOfWorkFactory,
    UserAccess,
    UserAccessCache,
)
from hduce.application.use_case import UseCase
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from hduce.domain.identity import Actor

MAX_CLIENT_NAME_LENGTH = 100
#: Longer than any HDUCE token: not one of ours (the access-token verifier's own bound).
MAX_TOKEN_LENGTH = 8192
INVALID_CLIENT = "invalid client credentials"
TOKEN_REVOKED_BY_CLIENT = "oauth.token_revoked"  # noqa: S105 - an audit action

TokenTypeHint = Literal["access_token", "refresh_token"]


def _new_client_id() -> str:
    return "svc_" + secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A new client and its secret: the only time the secret is ever shown."""

    client: ServiceClient
    client_secret: str


class RegisterServiceClient(UseCase):
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, store: ServiceClientStore
    ) -> None:
        super().__init__(uow_factory, clock)
        self._store = store

    async def __call__(self, actor: Actor, name: str) -> RegisteredClient:
        ensure_admin(actor, "register service clients")
        name = name.strip()
        if not name or len(name) > MAX_CLIENT_NAME_LENGTH:
            raise InvalidInput(f"1 to {MAX_CLIENT_NAME_LENGTH} characters", field="name")
        secret = new_opaque_token()
        client = ServiceClient(
            client_id=_new_client_id(),
            name=name,
            secret_hash=hash_opaque_token(secret),
            created_at=self._clock.now(),
            created_by=actor.user_id,
        )
        await self._store.add(client)
        async with self.change(actor) as (_, audit):
            await audit(
                "service_client.registered",
                "service_client",
                client.client_id,
                at=client.created_at,
                name=name,
            )
        return RegisteredClient(client, secret)


class ListServiceClients:
    def __init__(self, store: ServiceClientStore) -> None:
        self._store = store

    async def __call__(self, actor: Actor) -> list[ServiceClient]:
        ensure_admin(actor, "list service clients")
        return await self._store.list_all()


class RevokeServiceClient(UseCase):
    """The client's credentials stop working at once (tokens it asked about are not
    affected: they are users' tokens)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, store: ServiceClientStore
    ) -> None:
        super().__init__(uow_factory, clock)
        self._store = store

    async def __call__(self, actor: Actor, client_id: str) -> ServiceClient:
        ensure_admin(actor, "revoke service clients")
        now = self._clock.now()
        client = await self._store.revoke(client_id, now=now)
        if client is None:
            raise NotFound("service client", client_id)
        async with self.change(actor) as (_, audit):
            await audit("service_client.revoked", "service_client", client_id, at=now)
        return client


class AuthenticateServiceClient:
    """``client_id`` + secret -> the active client, or ``AuthenticationFailed`` (the same
    refusal for an unknown id, a wrong secret and a revoked client)."""

    def __init__(self, store: ServiceClientStore) -> None:
        self._store = store

    async def __call__(self, client_id: str, client_secret: str) -> ServiceClient:
        if not client_id or len(client_id) > 100 or len(client_secret) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed(INVALID_CLIENT)
        client = await self._store.get(client_id)
        presented = hash_opaque_token(client_secret)
        # Compared in constant time; an unknown id is compared against itself so that
        # both refusals cost the same.
        expected = client.secret_hash if client is not None else presented
        matches = hmac.compare_digest(expected, presented)
        if client is None or not matches or not client.is_active:
            raise AuthenticationFailed(INVALID_CLIENT)
        return client


# ------------------------------------------------------------------ introspection


@dataclass(frozen=True, slots=True)
class Introspection:
    """What RFC 7662 answers about a token: ``active`` and, when active, its claims."""

    active: bool
    token_type: TokenTypeHint | None = None
    sub: UUID | None = None
    role: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    jti: str | None = None
    session_id: UUID | None = None

    @classmethod
    def inactive(cls) -> Introspection:
        return cls(active=False)


class IntrospectToken:
    """Is this token live, and whose is it? Anything invalid, expired, revoked, of a
    deactivated account, or unknown is simply inactive (RFC 7662 §2.2)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        authenticate: Authenticate,
        refresh_tokens: RefreshTokenStore,
        accounts: UserAccessCache,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._authenticate = authenticate
        self._refresh_tokens = refresh_tokens
        self._accounts = accounts

    async def __call__(
        self, client: ServiceClient, token: str, hint: str | None = None
    ) -> Introspection:
        # The hint only orders the lookups (§2.1: an unknown or wrong hint is no error).
        lookups = (
            (self._refresh_token, self._access_token)
            if hint == "refresh_token"
            else (self._access_token, self._refresh_token)
        )
        for lookup in lookups:
            found = await lookup(token)
            if found is not None:
                return found
        return Introspection.inactive()

    async def _access_token(self, token: str) -> Introspection | None:
        try:
            principal = await self._authenticate(token)
        except AuthenticationFailed:
            return None
        claims = principal.claims
        return Introspection(
            active=True,
            token_type="access_token",  # noqa: S106 - RFC 7662 names
            sub=claims.user_id,
            role=principal.user.role.value,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
            jti=claims.jti,
            session_id=claims.session_id,
        )

    async def _refresh_token(self, token: str) -> Introspection | None:
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            return None
        record = await self._refresh_tokens.find(hash_opaque_token(token))
        now = self._clock.now()
        if (
            record is None
            or record.rotated_at is not None
            or record.revoked_at is not None
            or record.expires_at <= now
        ):
            return None
        access = await self._accounts.get(record.user_id)
        if access is None:
            async with self._uow_factory() as uow:
                user = await uow.users.get(record.user_id)
            access = UserAccess.of(user) if user is not None else None
        if access is None or not access.is_active:
            return None
        role = access.role
        return Introspection(
            active=True,
            token_type="refresh_token",  # noqa: S106
            sub=record.user_id,
            role=role.value,
            issued_at=record.issued_at,
            expires_at=record.expires_at,
            session_id=record.family_id,
        )


class RevokeToken:
    """RFC 7009: revoke a refresh token (its whole session: the refresh family, and the
    access tokens issued to it) or an access token (the same: it ends the session it
    belongs to, as a logout does). An unknown, invalid or expired token is no error: there
    is nothing left to revoke."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        verifier: AccessTokenVerifier,
        refresh_tokens: RefreshTokenStore,
        logout: Logout,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._verifier = verifier
        self._refresh_tokens = refresh_tokens
        self._logout = logout

    async def __call__(self, client: ServiceClient, token: str, hint: str | None = None) -> bool:
        """True when a live token was found (and is now revoked)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return False
        kinds = ("refresh", "access") if hint == "refresh_token" else ("access", "refresh")
        for kind in kinds:
            user_id = await (self._refresh(token) if kind == "refresh" else self._access(token))
            if user_id is not None:
                await events.record(
                    self._uow_factory,
                    self._clock.now(),
                    TOKEN_REVOKED_BY_CLIENT,
                    ("user", str(user_id)),
                    client_id=client.client_id,
                    token_type=f"{kind}_token",
                )
                return True
        return False

    async def _access(self, token: str) -> UUID | None:
        try:
            claims = self._verifier.verify(token, now=self._clock.now())
        except AuthenticationFailed:
            return None
        await self._logout(LogoutCommand(claims=claims))
        return claims.user_id

    async def _refresh(self, token: str) -> UUID | None:
        if len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            return None
        record = await self._refresh_tokens.find(hash_opaque_token(token))
        if record is None or record.expires_at <= self._clock.now():
            return None
        await self._logout(LogoutCommand(refresh_token=token))
        return record.user_id
