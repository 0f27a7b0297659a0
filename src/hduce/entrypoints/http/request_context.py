"""Per-request id and access log.

This wraps Litestar's whole ASGI handler rather than being a Litestar
middleware: route middleware never runs for requests no route matches, and a
404 needs its request id and its access-log line too.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from hduce.application.tracing import tracing

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
# Accept a caller's id only if it is short and cannot smuggle anything into logs or headers.
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
# Probes and scrapes arrive every few seconds; at INFO they would bury real traffic.
_QUIET_PATH_PREFIXES = ("/health", "/metrics")

_access_log = structlog.get_logger("hduce.access")


def request_id_of(scope: Scope | Any) -> str | None:
    """The id of the request being served (``scope`` or anything with ``.scope``)."""
    scope = getattr(scope, "scope", scope)
    state = scope.get("state") or {}
    request_id = state.get("request_id")
    return request_id if isinstance(request_id, str) else None


class RequestContextMiddleware:
    """Assigns the request id, binds it into structlog's context, echoes it in
    the response and writes one access-log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_HEADER_KEY, request_id.encode())
        status = 500  # if the app dies before answering, the server sends a 500
        started = time.perf_counter()
        # The request's server span ends inside the app, before the access line is
        # written out here: its ids are taken while it answers.
        trace_ids: dict[str, str] = {}

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
                ids = tracing().current_ids()
                if ids is not None:
                    trace_ids.update(trace_id=ids[0], span_id=ids[1])
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                path = scope["path"]
                log = (
                    _access_log.debug if path.startswith(_QUIET_PATH_PREFIXES) else _access_log.info
                )
                log(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    **trace_ids,
                )


def _incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == _HEADER_KEY:
            return value.decode("ascii") if _SANE_REQUEST_ID.fullmatch(value) else None
    return None
