"""``GET /health/ready`` through real outages, on real processes, and back without a
restart:

* ``hduce api`` on a Redis server of the test's own (never the shared one): stopped,
  readiness answers 503 naming redis; started again on the same port, 200;
* ``hduce api`` on a database one migration behind the code: 503 naming migrations
  until ``hduce db upgrade`` ran, then 200;
* ``hduce worker`` (``HDUCE_WORKER_HTTP_PORT``) on RabbitMQ through a TCP proxy: the
  proxy cut, the worker answers 503 naming the broker (a worker cannot work without
  it, where the API only degrades); restored, 200.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from hduce.adapters.sql.migrations.config import MIGRATIONS_DIR
from tests.e2e.server import (
    clean_environment,
    free_port,
    run_command,
    running_server,
    running_worker,
)
from tests.integration.brokers.outage import TcpProxy
from tests.integration.brokers.support import unique_prefix
from tests.metrics import scraped_sum
from tests.services import port_open

_NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


class OwnRedis:
    """A redis-server of this test's own on ``port`` (no persistence): ``start`` and
    ``stop`` it at will, on the same port each time."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), *_NO_PERSISTENCE],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", self.port, timeout=0.5):
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not listen"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def __enter__(self) -> OwnRedis:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def readiness_until(url: str, status: int, timeout: float = 30.0) -> dict[str, Any]:
    """Poll ``url`` until it answers ``status``; its body then."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=10)
            if response.status_code == status:
                body: dict[str, Any] = response.json()
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer {status} within {timeout} s"
        time.sleep(0.25)


def _sqlite_env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}", **more
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def test_the_api_is_unready_while_its_redis_is_down_and_ready_again_after(tmp_path: Path) -> None:
    redis_port = free_port()
    env = _sqlite_env(tmp_path, HDUCE_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    run_command(["db", "upgrade"], env, tmp_path)

    with (
        OwnRedis(tmp_path, redis_port) as redis,
        running_server(tmp_path, env, command="api") as base_url,
    ):
        ready_url = f"{base_url}/health/ready"
        before = readiness_until(ready_url, 200)
        redis.stop()

        down = readiness_until(ready_url, 503)
        down_response = httpx.get(ready_url, timeout=10)
        metrics_down = httpx.get(f"{base_url}/metrics", timeout=10).text

        redis.start()  # the same port again; the API is not restarted
        after = readiness_until(ready_url, 200)
        metrics_after = httpx.get(f"{base_url}/metrics", timeout=10).text

    assert before["status"] == "ok"
    assert down["status"] == "unavailable"
    assert down["checks"]["redis"]["status"] == "down"
    assert down["checks"]["database"]["status"] == "up"
    assert int(down_response.headers["retry-after"]) >= 1
    assert scraped_sum(metrics_down, "hduce_readiness_up", check="redis") == 0
    assert after["status"] == "ok"
    assert {name: check["status"] for name, check in after["checks"].items()} == {
        "database": "up",
        "migrations": "up",
        "redis": "up",
    }
    assert all(check["duration_ms"] >= 0 for check in after["checks"].values())
    assert scraped_sum(metrics_after, "hduce_readiness_up", check="redis") == 1


def test_the_api_is_unready_until_the_database_has_every_migration(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    scripts = sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("0*.py"))
    previous = scripts[-2].split("_", 1)[0]
    run_command(["db", "upgrade", "--revision", previous], env, tmp_path)

    with running_server(tmp_path, env, command="api") as base_url:
        ready_url = f"{base_url}/health/ready"
        behind = readiness_until(ready_url, 503)
        run_command(["db", "upgrade"], env, tmp_path)  # what the operator forgot
        at_head = readiness_until(ready_url, 200)

    assert behind["checks"]["migrations"] == {
        "status": "down",
        "duration_ms": behind["checks"]["migrations"]["duration_ms"],
        "error": "SchemaBehindCode",
    }
    assert behind["checks"]["database"]["status"] == "up"
    assert at_head["checks"]["migrations"]["status"] == "up"


def test_a_worker_without_its_broker_is_unready_and_ready_again_after(
    rabbitmq_url: str, tmp_path: Path
) -> None:
    upstream = urlsplit(rabbitmq_url)
    worker_port = free_port()
    with TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 5672) as proxy:
        through_proxy = upstream._replace(
            netloc=f"{upstream.netloc.rsplit(':', 1)[0]}:{proxy.port}"
        ).geturl()
        env = _sqlite_env(
            tmp_path,
            HDUCE_BROKER_URL=through_proxy,
            HDUCE_BROKER_PREFIX=unique_prefix(),
            HDUCE_WORKER_HTTP_PORT=str(worker_port),
        )
        run_command(["db", "upgrade"], env, tmp_path)
        with running_worker(tmp_path, env, timeout=90):
            ready_url = f"http://127.0.0.1:{worker_port}/health/ready"
            before = readiness_until(ready_url, 200)
            proxy.cut()
            down = readiness_until(ready_url, 503)
            proxy.restore()
            after = readiness_until(ready_url, 200, timeout=60)
            metrics = httpx.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=10).text

    assert set(before["checks"]) == {"database", "migrations", "broker"}
    assert before["status"] == "ok"
    assert down["status"] == "unavailable"
    assert down["checks"]["broker"]["status"] == "down"
    assert down["checks"]["database"]["status"] == "up"
    assert after["status"] == "ok"
    assert scraped_sum(metrics, "hduce_readiness_up", check="broker") == 1
