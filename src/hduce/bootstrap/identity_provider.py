"""Identity and access wiring: which adapter serves each identity port.

``identity_providers(settings)`` is what the composition root adds to its list:
``IdentityProvider``: password hasher, JWT issuer/verifier, refresh-token store
  (SQL when the container provides an ``AsyncEngine``, in memory otherwise), access
  token denylist (Redis when the container provides a Redis client, in memory
  otherwise), the Google OpenID provider when ``HDUCE_GOOGLE_*`` is set, and the
  identity use cases.

Everything is APP scoped: adapters hold pools and keys, use cases hold no request
state. The container must also provide ``Settings`` (context), ``Clock``,
``UnitOfWorkFactory``, ``Cache`` and ``RateLimiter``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from dishka import Has, Provider, Scope, provide
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.memory.identity import InMemoryRefreshTokenStore, InMemoryTokenDenylist
from hduce.adapters.oauth.google import GoogleOidcProvider, OidcClientConfig
from hduce.adapters.redis.denylist import RedisTokenDenylist
from hduce.adapters.security.passwords import (
    Argon2Parameters,
    Argon2PasswordHasher,
    load_common_passwords,
)
from hduce.adapters.security.tokens import JoseAccessTokens
from hduce.adapters.sql.refresh_tokens import SqlRefreshTokenStore
from hduce.application.identity.accounts import (
    CreateAccount,
    GetMe,
    ListUsers,
    RegisterPatient,
    SetUserActive,
    UpdateMyProfile,
)
from hduce.application.identity.google import BeginGoogleSignIn, CompleteGoogleSignIn
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.identity.sessions import (
    Authenticate,
    CredentialChecker,
    Login,
    Logout,
    PurgeExpiredRefreshTokens,
    RefreshTokens,
    SessionTokens,
)
from hduce.application.ports import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    Clock,
    OidcProvider,
    PasswordHasher,
    RefreshTokenStore,
    TokenDenylist,
)
from hduce.bootstrap.settings import ASYMMETRIC_JWT_ALGORITHMS, Settings


@dataclass(frozen=True, slots=True)
class PublicJwks:
    """The JWK Set that verifies access tokens (None with HS256: nothing to publish)."""

    document: dict[str, Any] | None


def identity_policy(settings: Settings, **overrides: Any) -> IdentityPolicy:
    """The policy these settings ask for; ``overrides`` replace single fields (tests)."""
    policy = IdentityPolicy(
        access_token_ttl=settings.auth.access_token_ttl,
        refresh_token_ttl=settings.auth.refresh_token_ttl,
        common_passwords=load_common_passwords(),
        default_timezone=settings.default_timezone,
    )
    return dataclasses.replace(policy, **overrides)


def access_tokens_from(settings: Settings) -> JoseAccessTokens:
    """The JWT issuer/verifier: HS256 with the secret, or the key file's algorithm."""
    auth = settings.auth
    issuer, audience, ttl = auth.jwt_issuer, auth.jwt_audience, auth.access_token_ttl
    if auth.jwt_algorithm in ASYMMETRIC_JWT_ALGORITHMS:
        if auth.jwt_private_key_file is None:  # Settings refuses this already
            raise ValueError(f"{auth.jwt_algorithm} needs HDUCE_JWT_PRIVATE_KEY_FILE")
        return JoseAccessTokens.with_private_key_file(
            auth.jwt_private_key_file,
            algorithm=auth.jwt_algorithm,
            issuer=issuer,
            audience=audience,
            ttl=ttl,
        )
    return JoseAccessTokens.with_secret(
        auth.jwt_secret.reveal(), issuer=issuer, audience=audience, ttl=ttl
    )


async def google_oidc_provider(settings: Settings, clock: Clock) -> AsyncIterator[OidcProvider]:
    google = settings.google
    if google is None:
        raise ValueError("Google sign-in needs HDUCE_GOOGLE_CLIENT_ID/SECRET/REDIRECT_URI")
    provider = GoogleOidcProvider(
        OidcClientConfig(
            client_id=google.client_id,
            client_secret=google.client_secret.reveal(),
            redirect_uri=google.redirect_uri,
            discovery_url=google.discovery_url,
        ),
        clock,
    )
    try:
        yield provider
    finally:
        await provider.aclose()


class IdentityProvider(Provider):
    """Identity ports and use cases.

    ``policy`` and ``hasher_parameters`` default to what the settings ask for; tests
    pass cheap hashing and small rate limits.
    """

    scope = Scope.APP

    def __init__(
        self,
        settings: Settings,
        *,
        policy: IdentityPolicy | None = None,
        hasher_parameters: Argon2Parameters | None = None,
    ) -> None:
        super().__init__()
        self._policy = policy
        self._hasher_parameters = hasher_parameters
        if settings.google is not None:
            self.provide(google_oidc_provider, provides=OidcProvider)
            self.provide(BeginGoogleSignIn)
            self.provide(CompleteGoogleSignIn)

    # ------------------------------------------------------------------ configuration

    @provide
    def policy(self, settings: Settings) -> IdentityPolicy:
        return self._policy or identity_policy(settings)

    @provide
    def password_hasher(self) -> PasswordHasher:
        return Argon2PasswordHasher(self._hasher_parameters)

    @provide
    def access_tokens(self, settings: Settings) -> JoseAccessTokens:
        return access_tokens_from(settings)

    @provide
    def public_jwks(self, tokens: JoseAccessTokens) -> PublicJwks:
        return PublicJwks(tokens.jwks())

    @provide
    def token_issuer(self, tokens: JoseAccessTokens) -> AccessTokenIssuer:
        return tokens

    @provide
    def token_verifier(self, tokens: JoseAccessTokens) -> AccessTokenVerifier:
        return tokens

    # ------------------------------------------------------------------ stores

    @provide(when=Has(AsyncEngine))
    def sql_refresh_tokens(self, engine: AsyncEngine) -> RefreshTokenStore:
        return SqlRefreshTokenStore(engine)

    @provide(when=~Has(AsyncEngine))
    def memory_refresh_tokens(self) -> RefreshTokenStore:
        return InMemoryRefreshTokenStore()

    @provide(when=Has(Redis))
    def redis_denylist(self, redis: Redis) -> TokenDenylist:
        return RedisTokenDenylist(redis)

    @provide(when=~Has(Redis))
    def memory_denylist(self, clock: Clock) -> TokenDenylist:
        return InMemoryTokenDenylist(clock)

    # ------------------------------------------------------------------ services and use cases

    credentials = provide(CredentialChecker)
    sessions = provide(SessionTokens)
    authenticate = provide(Authenticate)
    register = provide(RegisterPatient)
    login = provide(Login)
    refresh = provide(RefreshTokens)
    logout = provide(Logout)
    get_me = provide(GetMe)
    update_my_profile = provide(UpdateMyProfile)
    create_account = provide(CreateAccount)
    set_user_active = provide(SetUserActive)
    list_users = provide(ListUsers)
    purge_refresh_tokens = provide(PurgeExpiredRefreshTokens)


def identity_providers(
    settings: Settings,
    *,
    policy: IdentityPolicy | None = None,
    hasher_parameters: Argon2Parameters | None = None,
) -> list[Provider]:
    """What to add to the container, after the providers of Clock, UnitOfWorkFactory,
    Cache, RateLimiter and (with HDUCE_REDIS_URL) the Redis client."""
    return [IdentityProvider(settings, policy=policy, hasher_parameters=hasher_parameters)]
