"""Google sign-in: OpenID Connect authorization-code flow with PKCE, via authlib.

Any OpenID provider works (tests run one locally): everything comes from the
discovery document (``HDUCE_GOOGLE_DISCOVERY_URL``). The ID token is verified
here, not trusted because it came over TLS: signature against the provider's
JWKS (fetched again when an unknown ``kid`` shows up, i.e. after key rotation),
algorithm from the provider's list (never ``none`` or HMAC), ``iss``, ``aud``
(and ``azp`` when there are several audiences), ``exp``, ``iat`` and ``nonce``.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from dataclasses import dataclass
from typing import Any, Final

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from hduce.application.ports import Clock, IdentityProviderUnavailable, OidcIdentity
from hduce.domain.errors import AuthenticationFailed

with warnings.catch_warnings():
    # authlib >= 1.7 prefers the ``httpx2`` package and warns when it falls back to
    # ``httpx`` (which is what this project ships); the fallback works the same.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

GOOGLE_DISCOVERY_URL: Final = "https://accounts.google.com/.well-known/openid-configuration"
GOOGLE_ISSUERS: Final = frozenset({"https://accounts.google.com", "accounts.google.com"})
#: Asymmetric algorithms only: an HMAC "signature" keyed with the public client secret,
#: or ``none``, would let anyone mint ID tokens.
SAFE_ID_TOKEN_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
_REQUIRED_METADATA: Final = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class OidcClientConfig:
    client_id: str
    client_secret: str
    redirect_uri: str
    discovery_url: str = GOOGLE_DISCOVERY_URL
    scope: str = "openid email profile"
    timeout_seconds: float = 10.0
    #: Clock skew tolerated on ``exp``/``iat``.
    leeway_seconds: int = 60
    #: An unknown ``kid`` refetches the JWKS at most this often (no amplification).
    jwks_refresh_interval_seconds: float = 60.0


class GoogleOidcProvider:
    """The ``OidcProvider`` port. Close it with ``aclose()`` at shutdown."""

    def __init__(
        self,
        config: OidcClientConfig,
        clock: Clock,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._http = http or httpx.AsyncClient(timeout=config.timeout_seconds)
        self._owns_http = http is None
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ the port

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        metadata = await self._discover()
        client = self._oauth_client()
        try:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                code_verifier=code_verifier,
                nonce=nonce,
            )
        finally:
            await client.aclose()
        return str(url)

    async def exchange_and_verify(
        self, *, code: str, code_verifier: str, nonce: str
    ) -> OidcIdentity:
        if not code or len(code) > 2048:
            raise AuthenticationFailed("the sign-in code is missing or malformed")
        metadata = await self._discover()
        async with self._oauth_client() as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=self.config.redirect_uri,
                )
            except OAuthError as exc:
                raise AuthenticationFailed(
                    f"the identity provider refused the sign-in code ({exc.error})"
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise IdentityProviderUnavailable(
                    f"token endpoint failed: {type(exc).__name__}"
                ) from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise AuthenticationFailed("the identity provider sent no ID token")
        claims = await self._verify_id_token(id_token, nonce, metadata)
        return _identity(claims)

    # ------------------------------------------------------------------ ID token

    async def _verify_id_token(
        self, id_token: str, nonce: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        supported = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in SAFE_ID_TOKEN_ALGORITHMS if alg in supported]
        if not algorithms:
            raise IdentityProviderUnavailable("the provider signs ID tokens with no safe algorithm")
        keys = await self._jwks(force=False)
        try:
            try:
                decoded = jwt.decode(id_token, keys, algorithms=algorithms)
            except InvalidKeyIdError:
                # A new signing key: fetch the JWKS again (rate-limited), then retry once.
                decoded = jwt.decode(id_token, await self._jwks(force=True), algorithms=algorithms)
        except (JoseError, ValueError, TypeError) as exc:
            raise AuthenticationFailed("the ID token signature is invalid") from exc
        claims = decoded.claims
        issuer = str(metadata["issuer"])
        issuers = sorted(GOOGLE_ISSUERS) if issuer in GOOGLE_ISSUERS else [issuer]
        registry = JWTClaimsRegistry(
            now=int(self._clock.now().timestamp()),
            leeway=self.config.leeway_seconds,
            iss={"essential": True, "values": list(issuers)},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise AuthenticationFailed(f"the ID token was refused ({exc.error})") from exc
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.config.client_id:
            raise AuthenticationFailed("the ID token was issued to another client")
        return claims

    # ------------------------------------------------------------------ provider documents

    def _oauth_client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=self.config.scope,
            redirect_uri=self.config.redirect_uri,
            code_challenge_method="S256",
            timeout=self.config.timeout_seconds,
        )

    async def _discover(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is None:
                metadata = await self._get_json(self.config.discovery_url)
                missing = [name for name in _REQUIRED_METADATA if not metadata.get(name)]
                if missing:
                    raise IdentityProviderUnavailable(
                        f"the discovery document lacks {', '.join(missing)}"
                    )
                self._metadata = metadata
        return self._metadata

    async def _jwks(self, *, force: bool) -> KeySet:
        async with self._lock:
            stale = time.monotonic() - self._keys_fetched_at
            if self._keys is None or (force and stale >= self.config.jwks_refresh_interval_seconds):
                metadata = self._metadata or {}
                document = await self._get_json(str(metadata["jwks_uri"]))
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise IdentityProviderUnavailable("the provider's JWKS is unusable") from exc
                self._keys_fetched_at = time.monotonic()
            return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityProviderUnavailable(f"GET {url} failed: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise IdentityProviderUnavailable(f"GET {url} did not return a JSON object")
        return document


def _identity(claims: dict[str, Any]) -> OidcIdentity:
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise AuthenticationFailed("the identity provider did not share an email address")
    verified = claims.get("email_verified")
    # Some providers send the boolean as a string.
    email_verified = verified is True or (isinstance(verified, str) and verified == "true")
    name = claims.get("name")
    return OidcIdentity(
        subject=str(claims["sub"]),
        email=email,
        email_verified=email_verified,
        name=name if isinstance(name, str) else None,
    )
