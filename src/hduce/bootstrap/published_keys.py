"""``PublicJwks``: what ``GET /.well-known/jwks.json`` publishes. Provided by the
``SecurityProvider`` (a key file: one key, fixed) or by the ``ServiceTokensProvider``
(keys in the database: read at each request, since they rotate)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PublicJwks:
    """The JWK Set that verifies access tokens (None with HS256: nothing to publish)."""

    source: Callable[[], dict[str, Any] | None]

    @property
    def document(self) -> dict[str, Any] | None:
        return self.source()
