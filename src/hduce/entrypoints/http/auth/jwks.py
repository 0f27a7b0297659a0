"""``GET /.well-known/jwks.json``: the public keys verifying access tokens.

Mounted at the root (not under ``/api/v1``), and only with an asymmetric
``HDUCE_JWT_ALGORITHM``; with HS256 the secret is shared, never published.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from hduce.bootstrap.identity_provider import PublicJwks
from hduce.domain.errors import NotFound
from hduce.entrypoints.http.auth.security import request_container

JWKS_PATH = "/.well-known/jwks.json"


@get(JWKS_PATH, summary="Access-token verification keys (JWKS)", tags=["auth"])
async def jwks(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    published = await request_container(request).get(PublicJwks)
    if published.document is None:
        raise NotFound("JWKS", "HS256")
    return Response(
        published.document,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
