"""Liveness and readiness.

``GET /health`` answers as long as the process serves HTTP. ``GET /health/ready``
runs the readiness probes the container provides (database, cache, broker...)
and answers 503 (with ``Retry-After``) when a required one is down, so a load
balancer stops sending traffic to an instance that cannot do its job. A degrading
dependency (the broker) that is down leaves the answer 200 with status
``degraded``: the instance still does its job, later effects wait. The composition root provides them as a
``ReadinessProbes`` holder; without one, readiness has nothing to check.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

import msgspec
import structlog
from dishka import AsyncContainer
from dishka.exceptions import NoFactoryError
from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from hduce.application.ports import ReadinessProbe, ReadinessProbes
from hduce.bootstrap.outages import DOWN_RETRY_AFTER_SECONDS
from hduce.entrypoints.http.examples import ex

PROBE_TIMEOUT_SECONDS = 3.0

_log = structlog.get_logger(__name__)


class Liveness(msgspec.Struct):
    status: Literal["ok"] = "ok"


class ComponentStatus(msgspec.Struct, omit_defaults=True):
    status: Annotated[Literal["up", "down"], ex("up")]
    duration_ms: Annotated[float, ex(1.42)]
    # The exception's class name only: the full error goes to the log, not to
    # whoever can reach this endpoint.
    error: Annotated[str, ex("OperationalError")] | None = None


class Readiness(msgspec.Struct):
    status: Annotated[Literal["ok", "degraded", "unavailable"], ex("ok")]
    #: One entry per probe, by name.
    checks: Annotated[
        dict[str, ComponentStatus], ex({"database": {"status": "up", "duration_ms": 1.42}})
    ]


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/", summary="Liveness")
    async def alive(self) -> Liveness:
        return Liveness()

    @get(
        "/ready",
        summary="Readiness: database, cache and broker",
        responses={
            503: ResponseSpec(
                data_container=Readiness,
                description="A dependency is down",
                generate_examples=False,
                examples=[
                    Example(
                        summary="The database does not answer",
                        value={
                            "status": "unavailable",
                            "checks": {
                                "database": {
                                    "status": "down",
                                    "duration_ms": 3000.61,
                                    "error": "no answer within 3 s",
                                }
                            },
                        },
                    )
                ],
            )
        },
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Readiness]:
        container: AsyncContainer = request.state.dishka_container
        holder = await _probes_from(container)
        results = await asyncio.gather(*(_run(probe) for probe in holder.probes + holder.degrading))
        required, degrading = results[: len(holder.probes)], results[len(holder.probes) :]
        healthy = all(result.status == "up" for _, result in required)
        complete = all(result.status == "up" for _, result in degrading)
        headers = {"Cache-Control": "no-store"}
        if not healthy:
            headers["Retry-After"] = str(DOWN_RETRY_AFTER_SECONDS)
        status: Literal["ok", "degraded", "unavailable"] = (
            "unavailable" if not healthy else "ok" if complete else "degraded"
        )
        return Response(
            Readiness(status=status, checks=dict(required + degrading)),
            status_code=200 if healthy else 503,
            headers=headers,
        )


async def _probes_from(container: AsyncContainer) -> ReadinessProbes:
    try:
        return await container.get(ReadinessProbes)
    except NoFactoryError:
        return ReadinessProbes()


async def _run(probe: ReadinessProbe) -> tuple[str, ComponentStatus]:
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await probe.check()
    except TimeoutError:
        error = f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
        _log.warning("readiness probe timed out", probe=probe.name)
    except Exception as exc:
        error = type(exc).__name__
        _log.warning("readiness probe failed", probe=probe.name, exc_info=exc)
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    if error is None:
        return probe.name, ComponentStatus(status="up", duration_ms=duration_ms)
    return probe.name, ComponentStatus(status="down", duration_ms=duration_ms, error=error)
