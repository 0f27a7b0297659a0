"""Credentials and tokens: the password hasher, the JWT issuer/verifier and the JWK Set
it publishes, and the Google OpenID provider when ``HDUCE_GOOGLE_*`` is set.

The adapters are imported by the factories, at the first use: ``hduce worker`` builds
the same container but never hashes a password nor signs a token, and joserfc (which
loads cryptography) and argon2-cffi are about 12 MB of its resident memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from dishka import Provider, Scope, provide

from hduce.application.ports import (
    AccessTokenIssuer,
    AccessTokenVerifier,
    Clock,
    OidcProvider,
    PasswordHasher,
)
from hduce.bootstrap.published_keys import PublicJwks
from hduce.bootstrap.settings import ASYMMETRIC_JWT_ALGORITHMS, Settings

if TYPE_CHECKING:
    from hduce.adapters.security.passwords import Argon2Parameters
    from hduce.adapters.security.tokens import JoseAccessTokens


class AccessTokens(AccessTokenIssuer, AccessTokenVerifier, Protocol):
    """What ``JoseAccessTokens`` is to the other factories (a type the container can
    name without importing joserfc)."""

    def jwks(self) -> dict[str, Any] | None: ...


def access_tokens_from(settings: Settings) -> JoseAccessTokens:
    """The JWT issuer/verifier: HS256 with the secret, or the key file's algorithm."""
    from hduce.adapters.security.tokens import JoseAccessTokens

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
    # Imported here: authlib (~100 modules) stays out of processes without Google sign-in.
    from hduce.adapters.oauth.google import GoogleOidcProvider, OidcClientConfig

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


def access_tokens(settings: Settings) -> AccessTokens:
    return access_tokens_from(settings)


def public_jwks(tokens: AccessTokens) -> PublicJwks:
    document = tokens.jwks()
    return PublicJwks(lambda: document)


def token_issuer(tokens: AccessTokens) -> AccessTokenIssuer:
    return tokens


def token_verifier(tokens: AccessTokens) -> AccessTokenVerifier:
    return tokens


class SecurityProvider(Provider):
    """``google_sign_in``: provide the ``OidcProvider`` (Google is configured).
    ``hasher_parameters``: Argon2 cost, the library's defaults unless given (tests pass
    ``Argon2Parameters.for_tests()``). ``database_keys``: the access tokens, their
    verifier and the JWKS come from ``ServiceTokensProvider`` (keys in the database)."""

    scope = Scope.APP

    def __init__(
        self,
        *,
        google_sign_in: bool = False,
        hasher_parameters: Argon2Parameters | None = None,
        database_keys: bool = False,
    ) -> None:
        super().__init__()
        self._hasher_parameters = hasher_parameters
        if google_sign_in:
            self.provide(google_oidc_provider, provides=OidcProvider)
        if not database_keys:
            self.provide(access_tokens)
            self.provide(public_jwks)
            self.provide(token_issuer)
            self.provide(token_verifier)

    @provide
    def password_hasher(self) -> PasswordHasher:
        from hduce.adapters.security.passwords import Argon2PasswordHasher

        return Argon2PasswordHasher(self._hasher_parameters)
