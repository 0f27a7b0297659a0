"""Liveness and readiness.

``GET /health`` answers as long as the process serves HTTP. ``GET /health/ready``
runs the readiness probes the container provides (database, migrations, cache,
broker...; ``hduce.bootstrap.health`` runs them) and answers 503 (with ``Retry-After``) when a required one is down, so a load
balancer stops sending traffic to an instance that cannot do its job. A degrading
dependency (the broker) that is down leaves the answer 200 with status
``degraded``: the instance still does its job, later effects wait. The composition root provides them as a
``ReadinessProbes`` holder; without one, readiness has nothing to check.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from dishka import AsyncContainer
from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example

from hduce.bootstrap.health import check_readiness, probes_of
from hduce.bootstrap.outages import DOWN_RETRY_AFTER_SECONDS
from hduce.entrypoints.http.examples import ex


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
        summary="Readiness: database, migrations, cache and broker",
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
        report = await check_readiness(await probes_of(container))
        headers = {"Cache-Control": "no-store"}
        if not report.ready:
            headers["Retry-After"] = str(DOWN_RETRY_AFTER_SECONDS)
        checks = {
            check.name: ComponentStatus(
                status="up" if check.up else "down",
                duration_ms=check.duration_ms,
                error=check.error,
            )
            for check in report.checks
        }
        return Response(
            Readiness(status=report.status, checks=checks),
            status_code=200 if report.ready else 503,
            headers=headers,
        )
