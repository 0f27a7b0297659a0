"""Tokens for other services (ADR 0016): the signing keys kept in the database and
their rotation, the registered service clients, token introspection and revocation.

With ``database_keys`` (an asymmetric ``HDUCE_JWT_ALGORITHM`` and no
``HDUCE_JWT_PRIVATE_KEY_FILE``) this provider, not ``SecurityProvider``, provides the
access-token issuer and verifier and the published JWKS: ``DatabaseAccessTokens``,
loaded once (the first key made if there is none) and re-read every
``HDUCE_JWT_KEY_RELOAD_INTERVAL`` by a task that lives as long as the container.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Protocol

from dishka import Provider, Scope, provide
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.service_tokens import SqlServiceClientStore, SqlSigningKeyStore
from hduce.application.identity.service_clients import (
    AuthenticateServiceClient,
    IntrospectToken,
    ListServiceClients,
    RegisterServiceClient,
    RevokeServiceClient,
    RevokeToken,
)
from hduce.application.identity.signing_keys import (
    EnsureSigningKey,
    KeySchedule,
    ListSigningKeys,
    RotateSigningKeys,
)
from hduce.application.ports import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    Clock,
    ServiceClientStore,
    SigningKeyMaker,
    SigningKeyStore,
)
from hduce.bootstrap.published_keys import PublicJwks
from hduce.bootstrap.settings import Settings

log = logging.getLogger("hduce.security")

#: What the verifier tolerates past ``exp`` (``JoseAccessTokens``' default leeway).
VERIFICATION_LEEWAY_SECONDS = 30


class RotatingAccessTokens(AccessTokenIssuer, AccessTokenVerifier, Protocol):
    """What ``DatabaseAccessTokens`` is to the other factories: a type the container can
    name without importing joserfc (and cryptography), which ``hduce worker`` never uses;
    the adapter is imported by the factory."""

    def jwks(self, now: datetime) -> dict[str, Any]: ...


def key_schedule(settings: Settings) -> KeySchedule:
    auth = settings.auth
    return KeySchedule(
        retire_after=auth.access_token_ttl + timedelta(seconds=VERIFICATION_LEEWAY_SECONDS),
        activation_delay=2 * auth.jwt_key_reload_interval,
    )


async def database_access_tokens(
    settings: Settings, store: SigningKeyStore, ensure: EnsureSigningKey, schedule: KeySchedule
) -> AsyncIterator[RotatingAccessTokens]:
    from hduce.adapters.security.key_ring import DatabaseAccessTokens

    auth = settings.auth
    tokens = DatabaseAccessTokens(
        store=store,
        ensure=ensure,
        schedule=schedule,
        passphrase=auth.jwt_key_passphrase.reveal() if auth.jwt_key_passphrase else None,
        issuer=auth.jwt_issuer,
        audience=auth.jwt_audience,
        ttl=auth.access_token_ttl,
        leeway_seconds=VERIFICATION_LEEWAY_SECONDS,
    )
    await tokens.load()
    if auth.jwt_key_passphrase is None:
        log.warning(
            "HDUCE_JWT_KEY_PASSPHRASE is unset: the signing keys are stored unencrypted in "
            "the database; set it outside development"
        )
    async with tokens.reloading(auth.jwt_key_reload_interval):
        yield tokens


def database_jwks(tokens: RotatingAccessTokens, clock: Clock) -> PublicJwks:
    return PublicJwks(lambda: tokens.jwks(clock.now()))


def database_token_issuer(tokens: RotatingAccessTokens) -> AccessTokenIssuer:
    return tokens


def database_token_verifier(tokens: RotatingAccessTokens) -> AccessTokenVerifier:
    return tokens


class ServiceTokensProvider(Provider):
    """Needs the SQL engine (``SqlPersistenceProvider``), the identity use cases
    (``Authenticate``, ``Logout``) and the clock."""

    scope = Scope.APP

    def __init__(self, *, database_keys: bool = False) -> None:
        super().__init__()
        if database_keys:
            self.provide(database_access_tokens)
            self.provide(database_jwks)
            self.provide(database_token_issuer)
            self.provide(database_token_verifier)

    @provide
    def signing_keys(self, engine: AsyncEngine) -> SigningKeyStore:
        return SqlSigningKeyStore(engine)

    @provide
    def service_clients(self, engine: AsyncEngine) -> ServiceClientStore:
        return SqlServiceClientStore(engine)

    @provide
    def schedule(self, settings: Settings) -> KeySchedule:
        return key_schedule(settings)

    @provide
    def key_maker(self, settings: Settings) -> SigningKeyMaker:
        from hduce.adapters.security.key_ring import JoseKeyMaker

        auth = settings.auth
        passphrase = auth.jwt_key_passphrase.reveal() if auth.jwt_key_passphrase else None
        return JoseKeyMaker(auth.jwt_algorithm, passphrase)

    ensure_signing_key = provide(EnsureSigningKey)
    list_signing_keys = provide(ListSigningKeys)
    rotate_signing_keys = provide(RotateSigningKeys)
    register_client = provide(RegisterServiceClient)
    list_clients = provide(ListServiceClients)
    revoke_client = provide(RevokeServiceClient)
    authenticate_client = provide(AuthenticateServiceClient)
    introspect = provide(IntrospectToken)
    revoke_token = provide(RevokeToken)
