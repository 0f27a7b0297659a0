"""``hduce worker``'s own endpoints (``HDUCE_WORKER_HTTP_PORT``) as an ASGI app: a worker
needs its broker (down -> 503, where the API only degrades), and serves its metrics."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from dishka import Provider, Scope, from_context, make_async_container

from hduce.application.ports import ReadinessProbes
from hduce.entrypoints.worker.http import WorkerEndpoints


@dataclass
class Probe:
    name: str
    error: Exception | None = None

    async def check(self) -> None:
        if self.error is not None:
            raise self.error


class ProbesProvider(Provider):
    probes = from_context(provides=ReadinessProbes, scope=Scope.APP)


def client(probes: ReadinessProbes) -> httpx.AsyncClient:
    container = make_async_container(ProbesProvider(), context={ReadinessProbes: probes})
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=WorkerEndpoints(container)), base_url="http://worker"
    )


async def test_a_worker_without_its_broker_is_not_ready() -> None:
    probes = ReadinessProbes(
        (Probe("database"),), degrading=(Probe("broker", ConnectionRefusedError("10.0.0.7")),)
    )
    async with client(probes) as worker:
        ready = await worker.get("/health/ready")
        alive = await worker.get("/health")

    assert ready.status_code == 503
    assert int(ready.headers["retry-after"]) >= 1
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["broker"]["status"] == "down"
    assert ready.json()["checks"]["broker"]["error"] == "ConnectionRefusedError"
    assert "10.0.0.7" not in ready.text
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}


async def test_a_worker_with_everything_up_is_ready_and_serves_its_metrics() -> None:
    async with client(
        ReadinessProbes((Probe("database"),), degrading=(Probe("broker"),))
    ) as worker:
        ready = await worker.get("/health/ready")
        metrics = await worker.get("/metrics")
        head = await worker.head("/metrics")
        unknown = await worker.get("/api/v1/appointments")
        posted = await worker.post("/health")

    assert ready.status_code == 200
    assert {name: check["status"] for name, check in ready.json()["checks"].items()} == {
        "database": "up",
        "broker": "up",
    }
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'hduce_readiness_up{check="broker"} 1.0' in metrics.text
    assert head.status_code == 200 and head.content == b""
    assert unknown.status_code == 404
    assert posted.status_code == 405
