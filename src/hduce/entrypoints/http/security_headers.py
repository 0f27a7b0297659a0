"""Security headers on every response, whatever produced it.

This wraps Litestar's whole ASGI handler, like ``request_context``: route middleware
and layered ``response_headers`` never see what no route answered (404, 405) nor
every error path, and those must carry the headers too.

* Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: no-referrer``; and a ``Content-Security-Policy``, unless the
  handler set one (the AsyncAPI page, ``ASYNCAPI_VIEWER_CSP``): the viewer's policy
  under the documentation prefix (``/schema``), else ``default-src 'none';
  frame-ancestors 'none'`` (JSON needs nothing, and nothing may frame it).
* Under the private prefix (``/api/v1``): ``Cache-Control: no-store``. Any of those
  responses may carry personal data, errors included, so a handler's own value is
  replaced unless it says ``public`` (an explicit decision that the body is public).
  Outside it (health, metrics, the JWKS, the documentation) handlers decide.
* ``Strict-Transport-Security`` when the request came over https *as the ASGI server
  reports it* (``scope["scheme"]``): TLS served by the server itself, or a proxy whose
  ``X-Forwarded-Proto`` the server was told to trust. The header is never derived
  from request headers here: a client could forge them (browsers ignore the header
  over plain http anyway). Behind a TLS proxy that the server does not trust, let the
  proxy add it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

API_CSP: Final = "default-src 'none'; frame-ancestors 'none'"


def _viewer_policy(*script_sources: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            " ".join(("script-src 'self'", *script_sources)),
            # The viewer (Scalar) injects its stylesheet and components' styles as <style>
            # elements at run time, some without a nonce: without 'unsafe-inline' it renders
            # unstyled. Styles cannot run code; scripts come from this origin only.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            # The OpenAPI document and "try it" requests go to this origin only; Scalar's
            # telemetry, proxy and font hosts are off in its configuration and refused here.
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


VIEWER_CSP: Final = _viewer_policy()
#: The AsyncAPI page's own (its handler sets it; this middleware keeps a handler's CSP).
#: Its viewer validates the document in the browser with Ajv, which compiles JSON
#: schemas with ``new Function``, the meta-schemas as soon as the bundle loads: without
#: 'unsafe-eval' nothing renders. It lets the page's own scripts (the pinned bundle and
#: ours, the only ones allowed to run) turn strings into code, not load or inject any;
#: what Ajv compiles comes from the bundled meta-schemas and the server-generated
#: document. Scalar's page, under ``VIEWER_CSP``, does not get it.
ASYNCAPI_VIEWER_CSP: Final = _viewer_policy("'unsafe-eval'")

_ALWAYS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CACHE_CONTROL: Final = b"cache-control"
_CSP: Final = b"content-security-policy"
_NO_STORE: Final = b"no-store"


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        private_prefix: str,
        viewer_prefix: str,
        hsts_max_age: timedelta,
    ) -> None:
        self.app = app
        self._private_prefix = private_prefix.rstrip("/")
        self._viewer_prefix = viewer_prefix.rstrip("/")
        self._hsts = (
            b"strict-transport-security",
            f"max-age={int(hsts_max_age.total_seconds())}".encode(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        private = _under(path, self._private_prefix)
        csp = (VIEWER_CSP if _under(path, self._viewer_prefix) else API_CSP).encode()
        extra = [*_ALWAYS, self._hsts] if scope.get("scheme") == "https" else list(_ALWAYS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers", ()), extra, csp, private)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _secured(
    headers: Iterable[tuple[bytes, bytes]],
    extra: list[tuple[bytes, bytes]],
    csp: bytes,
    private: bool,
) -> list[tuple[bytes, bytes]]:
    result = list(headers)
    if private and not any(
        name.lower() == _CACHE_CONTROL and b"public" in value.lower() for name, value in result
    ):
        result = [(name, value) for name, value in result if name.lower() != _CACHE_CONTROL]
        result.append((_CACHE_CONTROL, _NO_STORE))
    present = {name.lower() for name, _ in result}
    if _CSP not in present:
        result.append((_CSP, csp))
    result.extend(header for header in extra if header[0] not in present)
    return result
