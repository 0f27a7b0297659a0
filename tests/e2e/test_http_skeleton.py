"""The HTTP shell: health, readiness, OpenAPI, metrics, problem details,
request ids, lifespan, and the real ``hduce serve`` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from dishka import AsyncContainer, Provider, Scope, from_context, make_async_container, provide
from dishka.integrations.litestar import LitestarProvider
from litestar import Litestar, get
from litestar.params import FromPath, FromQuery
from litestar.testing import AsyncTestClient

from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.metrics import OUTBOX_BACKLOG
from hduce.bootstrap.settings import Settings
from hduce.domain.errors import (
    AlreadyExists,
    AuthenticationFailed,
    BusinessRuleViolation,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    SlotConflict,
    StaleVersion,
)
from hduce.entrypoints.http import ReadinessProbes, create_app
from tests.e2e.server import free_port, hduce_command

PROBLEM_JSON = "application/problem+json"
CONFLICT_IDS = sorted((uuid.uuid4(), uuid.uuid4()), key=str)
DOMAIN_ERRORS: dict[str, DomainError] = {
    "not-found": NotFound("Appointment", uuid.UUID(int=1)),
    "forbidden": PermissionDenied("only the doctor may approve"),
    "unauthenticated": AuthenticationFailed("token expired"),
    "invalid-input": InvalidInput("not an E.164 number", field="phone"),
    "business-rule": BusinessRuleViolation("outside working hours", rule="outside-working-hours"),
    "illegal-transition": IllegalTransition("COMPLETED", "CANCELLED", "patient", "terminal"),
    "slot-conflict": SlotConflict(CONFLICT_IDS),
    "stale-version": StaleVersion("Appointment", uuid.UUID(int=2), expected=3, actual=4),
    "already-exists": AlreadyExists("email already registered"),
    "rate-limited": RateLimited(retry_after_seconds=17),
}
#: Raised by use cases when the version came from If-Match (code ``stale-version`` too).
PRECONDITION_FAILED = PreconditionFailed("Appointment", uuid.UUID(int=2), expected=3, actual=4)


@get("/domain-error/{name:str}", sync_to_thread=False)
def raise_domain_error(name: FromPath[str]) -> None:
    raise DOMAIN_ERRORS[name]


@get("/precondition-failed", sync_to_thread=False)
def raise_precondition_failed() -> None:
    raise PRECONDITION_FAILED


@get("/crash", sync_to_thread=False)
def crash() -> None:
    raise RuntimeError("database password is hunter2")


@get("/typed", sync_to_thread=False)
def typed(limit: FromQuery[int]) -> dict[str, int]:
    return {"limit": limit}


@dataclass
class Probe:
    name: str
    error: Exception | None = None

    async def check(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass
class Lifecycle:
    events: list[str] = field(default_factory=list)


class ProbesProvider(Provider):
    probes = from_context(provides=ReadinessProbes, scope=Scope.APP)


class LifecycleProvider(Provider):
    def __init__(self, lifecycle: Lifecycle) -> None:
        super().__init__()
        self.lifecycle = lifecycle

    @provide(scope=Scope.APP)
    def resource(self) -> Iterator[int]:
        yield 1
        self.lifecycle.events.append("container closed")


def settings() -> Settings:
    return Settings.from_env({"HDUCE_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})


def make_container(
    probes: ReadinessProbes | None = None, lifecycle: Lifecycle | None = None
) -> AsyncContainer:
    providers: list[Provider] = [LitestarProvider(), LifecycleProvider(lifecycle or Lifecycle())]
    context: dict[object, object] = {}
    if probes is not None:
        providers.append(ProbesProvider())
        context[ReadinessProbes] = probes
    return make_async_container(*providers, context=context)


def make_app(container: AsyncContainer | None = None, **kwargs: object) -> Litestar:
    return create_app(
        container or make_container(),
        settings(),
        route_handlers=[raise_domain_error, raise_precondition_failed, crash, typed],
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(make_app()) as test_client:
        yield test_client


async def test_health_is_ok_outside_the_api_prefix(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_without_probes_is_ok(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_readiness_reports_each_component_and_fails_when_one_is_down() -> None:
    probes = ReadinessProbes(
        (Probe("database"), Probe("broker", error=ConnectionRefusedError("10.0.0.7:5672")))
    )
    async with AsyncTestClient(make_app(make_container(probes))) as client:
        response = await client.get("/health/ready")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "up"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["error"] == "ConnectionRefusedError"
    assert "10.0.0.7" not in response.text


async def test_a_degrading_dependency_down_leaves_the_instance_ready_but_degraded() -> None:
    probes = ReadinessProbes(
        (Probe("database"),),
        degrading=(Probe("broker", error=ConnectionRefusedError("10.0.0.7:5672")),),
    )
    async with AsyncTestClient(make_app(make_container(probes))) as client:
        response = await client.get("/health/ready")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["status"] == "up"
    assert body["checks"]["broker"] == {
        "status": "down",
        "duration_ms": body["checks"]["broker"]["duration_ms"],
        "error": "ConnectionRefusedError",
    }
    assert "Retry-After" not in response.headers


async def test_a_required_dependency_down_fails_even_when_degrading_ones_are_up() -> None:
    probes = ReadinessProbes(
        (Probe("database", error=ConnectionRefusedError("db")),), degrading=(Probe("broker"),)
    )
    async with AsyncTestClient(make_app(make_container(probes))) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["broker"]["status"] == "up"


async def test_readiness_is_ok_when_every_probe_is_up() -> None:
    probes = ReadinessProbes((Probe("database"), Probe("cache")))
    async with AsyncTestClient(make_app(make_container(probes))) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache"}


async def test_openapi_document_is_3_1_json(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "HDUCE"
    assert document["info"]["version"]
    assert "/health" in document["paths"]
    assert "/api/v1/typed" in document["paths"]
    assert "/metrics" not in document["paths"]


async def test_schema_ui_is_served(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


async def test_metrics_exposes_prometheus_text(client: AsyncTestClient[Litestar]) -> None:
    OUTBOX_BACKLOG.set(3)
    await client.get("/health")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "hduce_outbox_backlog 3.0" in response.text
    assert 'hduce_requests_total{app_name="hduce",method="GET",path="/health"' in response.text


@pytest.mark.parametrize("code", sorted(DOMAIN_ERRORS))
async def test_domain_errors_become_problem_details(
    client: AsyncTestClient[Litestar], code: str
) -> None:
    expected_status = {
        "not-found": 404,
        "forbidden": 403,
        "unauthenticated": 401,
        "invalid-input": 400,
        "outside-working-hours": 422,
        "illegal-transition": 422,
        "slot-conflict": 409,
        "stale-version": 409,
        "already-exists": 409,
        "rate-limited": 429,
    }
    error = DOMAIN_ERRORS[code]

    response = await client.get(f"/api/v1/domain-error/{code}")

    body = response.json()
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.status_code == body["status"] == expected_status[error.code]
    assert body["code"] == error.code
    assert body["type"] == f"https://hduce.dev/problems/{error.code}"
    assert body["title"]
    assert body["detail"] == error.message
    assert body["instance"] == f"/api/v1/domain-error/{code}"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_slot_conflict_lists_every_conflicting_appointment(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/v1/domain-error/slot-conflict")

    assert response.status_code == 409
    assert response.json()["conflicting_appointment_ids"] == [str(i) for i in CONFLICT_IDS]


async def test_stale_version_is_a_409_with_versions(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/domain-error/stale-version")

    body = response.json()
    assert (response.status_code, body["code"]) == (409, "stale-version")
    assert (body["expected_version"], body["actual_version"]) == (3, 4)


async def test_a_failed_if_match_is_a_412_with_versions(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/v1/precondition-failed")

    body = response.json()
    assert (response.status_code, body["status"], body["code"]) == (412, 412, "stale-version")
    assert (body["expected_version"], body["actual_version"]) == (3, 4)


async def test_rate_limited_sets_retry_after(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/domain-error/rate-limited")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"


async def test_unauthenticated_asks_for_a_bearer_token(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/domain-error/unauthenticated")

    assert response.headers["www-authenticate"] == "Bearer"


async def test_request_validation_is_a_400_naming_the_field(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/api/v1/typed", params={"limit": "many"})

    body = response.json()
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert body["code"] == "invalid-request"
    assert body["errors"][0]["field"] == "limit"
    assert body["errors"][0]["source"] == "query"


async def test_unknown_route_and_wrong_method_are_problems(
    client: AsyncTestClient[Litestar],
) -> None:
    missing = await client.get("/api/v1/nothing-here")
    wrong_method = await client.delete("/health")

    assert (missing.status_code, missing.json()["code"]) == (404, "not-found")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "method-not-allowed")
    assert "GET" in wrong_method.headers["allow"]
    assert missing.headers["x-request-id"]


async def test_unexpected_exception_is_a_generic_500(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/crash", headers={"X-Request-ID": "trace-me-1"})

    body = response.json()
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert body["code"] == "internal-error"
    assert body["request_id"] == "trace-me-1"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text


async def test_request_id_is_echoed(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "req-42.a_b:c"})

    assert response.headers["x-request-id"] == "req-42.a_b:c"


async def test_insane_request_id_is_replaced(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "x" * 200})

    generated = response.headers["x-request-id"]
    assert generated != "x" * 200
    assert len(generated) == 32
    int(generated, 16)


async def test_logs_carry_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings.from_env({"HDUCE_LOG_FORMAT": "json", "HDUCE_LOG_LEVEL": "INFO"}))
    async with AsyncTestClient(make_app()) as client:
        capsys.readouterr()
        await client.get("/api/v1/crash", headers={"X-Request-ID": "log-me-7"})

    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == "log-me-7"]
    access = next(line for line in mine if line["logger"] == "hduce.access")
    crash_line = next(line for line in mine if line["event"] == "unhandled exception")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/crash", 500)
    assert isinstance(access["duration_ms"], float)
    assert "hunter2" in crash_line["exception"]  # the traceback goes to the log, not the client


async def test_lifespan_runs_background_services_and_closes_the_container() -> None:
    lifecycle = Lifecycle()

    def service(name: str) -> Callable[[], AbstractAsyncContextManager[None]]:
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            lifecycle.events.append(f"{name} started")
            yield
            lifecycle.events.append(f"{name} stopped")

        return run

    container = make_container(lifecycle=lifecycle)
    await container.get(int)  # so the container has something to finalise
    app = make_app(container, background=[service("relay"), service("consumers")])
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health")).status_code == 200
        assert lifecycle.events == ["relay started", "consumers started"]

    assert lifecycle.events == [
        "relay started",
        "consumers started",
        "consumers stopped",
        "relay stopped",
        "container closed",
    ]


# --------------------------------------------------------------------------- real server


def test_hduce_serve_starts_and_answers_health(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HDUCE_") or k.startswith("HDUCE_TEST_")
    }
    env |= {
        "HDUCE_HTTP_PORT": str(port),
        "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        "HDUCE_LOG_FORMAT": "json",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*hduce_command(), "serve"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, f"no healthy server within 90 s:\n{log_path.read_text()}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert '"event":"starting"' in log_path.read_text()
