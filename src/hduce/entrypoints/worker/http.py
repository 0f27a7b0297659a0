"""``hduce worker``'s own listener (``HDUCE_WORKER_HTTP_PORT``): ``/metrics``,
``/health`` and ``/health/ready``, so a supervisor can probe a worker and Prometheus
scrape it like an API process.

Three fixed GET routes do not need the HTTP framework the API is built on: the
application is a plain ASGI callable, served by uvicorn (already installed with
Litestar's standard extras) on the worker's event loop. Readiness is the API's
(``hduce.bootstrap.health``) with one difference: the broker is required, since a
worker without its broker can neither relay nor consume (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import structlog
from dishka import AsyncContainer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hduce.bootstrap.health import check_readiness, probes_of
from hduce.bootstrap.metrics import collecting_registry
from hduce.bootstrap.outages import DOWN_RETRY_AFTER_SECONDS
from hduce.bootstrap.settings import Settings, SettingsError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = structlog.get_logger(__name__)

_JSON = b"application/json"


class WorkerEndpoints:
    """The ASGI application: GET (or HEAD) of the three paths, 404 elsewhere."""

    def __init__(self, container: AsyncContainer) -> None:
        self._container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        path, method = scope["path"].rstrip("/") or "/", scope["method"]
        if method not in ("GET", "HEAD"):
            await _answer(send, method, 405, _JSON, b'{"detail": "only GET"}', allow="GET, HEAD")
        elif path == "/health":
            await _answer(send, method, 200, _JSON, b'{"status": "ok"}')
        elif path == "/health/ready":
            report = await check_readiness(
                await probes_of(self._container), degrading_required=True
            )
            await _answer(
                send,
                method,
                200 if report.ready else 503,
                _JSON,
                json.dumps(report.as_json()).encode(),
                **({} if report.ready else {"retry-after": str(DOWN_RETRY_AFTER_SECONDS)}),
            )
        elif path == "/metrics":
            await _answer(
                send,
                method,
                200,
                CONTENT_TYPE_LATEST.encode(),
                generate_latest(collecting_registry()),
            )
        else:
            await _answer(send, method, 404, _JSON, b'{"detail": "not found"}')


async def _answer(
    send: Send, method: str, status: int, content_type: bytes, body: bytes, **headers: str
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *((name.encode(), value.encode()) for name, value in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


def _server(app: WorkerEndpoints) -> Any:
    """A uvicorn server for ``app`` (imported only when a port is set: a worker without
    one loads no HTTP server at all)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The worker handles SIGINT/SIGTERM itself (``run_worker``) and stops us.
            yield

    return Server(
        uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
    )


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(
            f"HDUCE_WORKER_HTTP_PORT={port}: cannot listen on {host}:{port} ({exc.strerror})"
        ) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def worker_endpoints(container: AsyncContainer, settings: Settings) -> AsyncIterator[None]:
    """Serve the worker's endpoints for the length of the block (nothing when
    ``HDUCE_WORKER_HTTP_PORT`` is unset)."""
    port = settings.http.worker_port
    if port is None:
        yield
        return
    host = settings.http.host
    sock = _bound_socket(host, port)
    server = _server(WorkerEndpoints(container))
    task = asyncio.create_task(server.serve(sockets=[sock]), name="worker-http")
    log.info("worker endpoints listening", url=f"http://{host}:{port}/health/ready")
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
