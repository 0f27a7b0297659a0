"""A small OpenID Connect provider for tests: a plain ASGI app served by uvicorn on a
free loopback port, issuing real RS256-signed ID tokens.

Endpoints: discovery (``/.well-known/openid-configuration``), ``/authorize`` (signs the
user in at once and redirects back with a code), ``/token`` (client authentication,
single-use codes, redirect URI and PKCE S256 checks) and ``/jwks``.

Tests pick who signs in (``next_identity``) and can make it misbehave
(``claim_overrides``, ``sign_with_rogue_key``) or rotate its key (``rotate_key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.services import asgi_server_in_thread, free_port

Scope = dict[str, Any]


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    claims: dict[str, Any]
    used: bool = False


@dataclass
class LocalOpenIdProvider:
    client_id: str = "hduce-test-client"
    client_secret: str = "hduce-test-secret"
    issuer: str = ""
    next_identity: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "google-ada",
            "email": "ada@example.org",
            "email_verified": True,
            "name": "Ada Lovelace",
        }
    )
    #: Merged into the next ID tokens (e.g. {"aud": "someone-else"}); None removes a claim.
    claim_overrides: dict[str, Any] = field(default_factory=dict)
    sign_with_rogue_key: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = self._new_key()
        self._rogue = self._new_key()
        self._grants: dict[str, Grant] = {}
        self.jwks_fetches = 0

    @staticmethod
    def _new_key() -> RSAKey:
        key = RSAKey.generate_key(2048)
        key.ensure_kid()
        return key

    def rotate_key(self) -> None:
        self._key = self._new_key()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        extra: dict[bytes, bytes]
        if method == "GET" and path == "/.well-known/openid-configuration":
            status, payload, extra = 200, self._discovery(), {}
        elif method == "GET" and path == "/jwks":
            self.jwks_fetches += 1
            status, payload, extra = 200, {"keys": [self._key.as_dict(private=False)]}, {}
        elif method == "GET" and path == "/authorize":
            status, payload, extra = self._authorize(query)
        elif method == "POST" and path == "/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            status, payload, extra = self._token(form, headers)
        else:
            status, payload, extra = 404, {"error": "not_found"}, {}
        raw = json.dumps(payload).encode()
        response_headers = [(b"content-type", b"application/json"), *extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": raw})

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, Any], dict[bytes, bytes]]:
        self.authorize_requests.append(query)
        required = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")
        if (
            query.get("response_type") != "code"
            or query.get("client_id") != self.client_id
            or query.get("code_challenge_method") != "S256"
            or "openid" not in query.get("scope", "").split()
            or any(not query.get(name) for name in required)
        ):
            return 400, {"error": "invalid_request"}, {}
        code = secrets.token_urlsafe(16)
        self._grants[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            code_challenge=query["code_challenge"],
            nonce=query["nonce"],
            claims=dict(self.next_identity),
        )
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {}, {b"location": location.encode()}

    def _client(self, form: dict[str, str], headers: dict[str, str]) -> str | None:
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client_id, secret = unquote(client_id), unquote(secret)
        if client_id == self.client_id and secrets.compare_digest(secret, self.client_secret):
            return client_id
        return None

    def _token(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[bytes, bytes]]:
        self.token_requests.append(form)
        client_id = self._client(form, headers)
        if client_id is None:
            return 401, {"error": "invalid_client"}, {}
        grant = self._grants.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant.used:
            return 400, {"error": "invalid_grant"}, {}
        grant.used = True
        if grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}, {}
        if _s256(form.get("code_verifier", "")) != grant.code_challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}, {}
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
        }
        for name, value in self.claim_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self._rogue if self.sign_with_rogue_key else self._key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])
        return (
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": id_token,
            },
            {b"cache-control": b"no-store"},
        )


@contextmanager
def serve(provider: LocalOpenIdProvider) -> Iterator[LocalOpenIdProvider]:
    """Run ``provider`` with uvicorn on 127.0.0.1 in a thread until the block ends."""
    port = free_port()
    provider.issuer = f"http://127.0.0.1:{port}"
    with asgi_server_in_thread(provider, port, name="OpenID provider"):
        yield provider
