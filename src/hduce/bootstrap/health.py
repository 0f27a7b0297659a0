"""Running the readiness probes of a process: what ``GET /health/ready`` answers, on
the API (``hduce.entrypoints.http.health``) and on a worker's own listener
(``hduce.entrypoints.worker.http``).

Each probe runs at once with the others, within ``PROBE_TIMEOUT_SECONDS``, and its
result is set in ``hduce_readiness_up{check}``. A required probe that is down makes
the process unavailable (503); a degrading one (the API's broker: events wait in the
outbox) leaves it ready but ``degraded``. A worker cannot work without its broker, so
it asks for every probe to be required (``degrading_required``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import structlog
from dishka import AsyncContainer
from dishka.exceptions import NoFactoryError

from hduce.application.ports import ReadinessProbe, ReadinessProbes
from hduce.bootstrap.metrics import record_readiness

PROBE_TIMEOUT_SECONDS = 3.0

ReadinessStatus = Literal["ok", "degraded", "unavailable"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    up: bool
    duration_ms: float
    # The exception's class name only: the full error goes to the log, not to
    # whoever can reach the endpoint.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    status: ReadinessStatus
    checks: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        return self.status != "unavailable"

    def as_json(self) -> dict[str, object]:
        """The body of ``GET /health/ready`` (as the API documents it)."""
        checks: dict[str, object] = {}
        for check in self.checks:
            entry: dict[str, object] = {
                "status": "up" if check.up else "down",
                "duration_ms": check.duration_ms,
            }
            if check.error is not None:
                entry["error"] = check.error
            checks[check.name] = entry
        return {"status": self.status, "checks": checks}


async def probes_of(container: AsyncContainer) -> ReadinessProbes:
    """The container's probes (none when it provides no holder)."""
    try:
        return await container.get(ReadinessProbes)
    except NoFactoryError:
        return ReadinessProbes()


async def check_readiness(
    probes: ReadinessProbes, *, degrading_required: bool = False
) -> ReadinessReport:
    results = await asyncio.gather(*(_run(probe) for probe in probes.probes + probes.degrading))
    required_count = len(results) if degrading_required else len(probes.probes)
    required, degrading = results[:required_count], results[required_count:]
    for result in results:
        record_readiness(result.name, up=result.up)
    status: ReadinessStatus = (
        "unavailable"
        if not all(result.up for result in required)
        else "ok"
        if all(result.up for result in degrading)
        else "degraded"
    )
    return ReadinessReport(status, tuple(results))


async def _run(probe: ReadinessProbe) -> CheckResult:
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
    return CheckResult(probe.name, error is None, duration_ms, error)
