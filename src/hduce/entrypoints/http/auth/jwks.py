"""``GET /.well-known/jwks.json``: the public keys verifying access tokens.

Mounted at the root (not under ``/api/v1``), and only with an asymmetric
``HDUCE_JWT_ALGORITHM``; with HS256 the secret is shared, never published.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from hduce.bootstrap.published_keys import PublicJwks
from hduce.domain.errors import NotFound
from hduce.entrypoints.http.auth.security import request_container

JWKS_PATH = "/.well-known/jwks.json"


#: An Ed25519 key (``HDUCE_JWT_ALGORITHM=EdDSA``) as the JWKS publishes it.
_JWKS_EXAMPLE: Final = {
    "keys": [
        {
            "crv": "Ed25519",
            "x": "lb33S80mKutig_u87WodTBRwh5mggbUsg6Klqqysgn0",
            "kty": "OKP",
            # The key's RFC 7638 thumbprint.
            "kid": "6NO2mb106_pQMIp1Ks5yo2OYfpxQuZXH9o2gZwgPZ2k",
            "use": "sig",
            "alg": "EdDSA",
        }
    ]
}


@get(
    JWKS_PATH,
    summary="Access-token verification keys (JWKS)",
    description="Public. The keys that verify access tokens (RFC 7517), for services "
    "that check them themselves; cache them for up to 5 minutes.",
    tags=["auth"],
    responses={
        200: ResponseSpec(
            data_container=dict[str, Any],
            media_type="application/jwk-set+json",
            description="The key set",
            generate_examples=False,
            examples=[Example(summary="One Ed25519 key", value=_JWKS_EXAMPLE)],
        )
    },
)
async def jwks(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    published = await request_container(request).get(PublicJwks)
    if published.document is None:
        raise NotFound("JWKS", "HS256")
    return Response(
        published.document,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
