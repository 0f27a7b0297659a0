"""``HDUCE_METRICS_PORT``: /metrics leaves the HTTP port for a listener of its own, in
the app's process (one worker) or in the server's parent, aggregating every worker."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from dishka import make_async_container
from dishka.integrations.litestar import LitestarProvider
from litestar.testing import AsyncTestClient

from hduce.bootstrap.settings import Settings
from hduce.entrypoints.http import create_app
from tests.e2e.server import (
    clean_environment,
    free_port,
    run_command,
    running_server,
)


def _requests_counted(metrics: str, path: str) -> float:
    pattern = rf'^hduce_requests_total\{{[^}}]*path="{re.escape(path)}"[^}}]*\}} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, metrics, flags=re.MULTILINE))


async def test_one_worker_serves_metrics_on_their_own_port_only() -> None:
    port = free_port()
    settings = Settings.from_env(
        {"HDUCE_DATABASE_URL": "sqlite+aiosqlite:///:memory:", "HDUCE_METRICS_PORT": str(port)}
    )
    app = create_app(make_async_container(LitestarProvider()), settings)
    async with AsyncTestClient(app) as client:
        await client.get("/health")
        on_the_http_port = await client.get("/metrics")
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")

    assert on_the_http_port.status_code == 404
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert _requests_counted(scraped.text, "/health") >= 1
    async with httpx.AsyncClient() as scraper:
        with pytest.raises(httpx.ConnectError):  # closed with the app
            await scraper.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


async def test_without_a_metrics_port_metrics_stay_on_the_http_port() -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
    app = create_app(make_async_container(LitestarProvider()), settings)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/metrics")).status_code == 200


def _writers(multiprocess_dir: Path) -> set[str]:
    """The processes that wrote metric files (their pid ends each file name)."""
    return {path.stem.rsplit("_", 1)[1] for path in multiprocess_dir.glob("*.db")} - {"999999"}


def test_several_workers_report_together_through_the_parent(tmp_path: Path) -> None:
    metrics_port = free_port()
    multiprocess_dir = tmp_path / "metrics"
    multiprocess_dir.mkdir()
    (multiprocess_dir / "counter_999999.db").write_bytes(b"stale")  # of an earlier run
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        HDUCE_METRICS_PORT=str(metrics_port),
        HDUCE_HTTP_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(multiprocess_dir),
    )
    run_command(["db", "upgrade"], env, tmp_path)

    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with running_server(tmp_path, env, command="api", timeout=60) as base_url:
        with httpx.Client(base_url=base_url) as client:
            # Both workers answering first (on a loaded machine the second one starts
            # later): each writes its own files once it has counted a request.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_writers(multiprocess_dir)) < 2:
                client.get("/health", headers={"Connection": "close"})
            before = httpx.get(scrape_url, timeout=5)
            for _ in range(20):  # new connections, spread over the workers
                client.get("/health", headers={"Connection": "close"})
            on_the_http_port = client.get("/metrics")
        # A worker counts a request just after answering it: give the last one a moment.
        deadline = time.monotonic() + 30
        while True:
            after = httpx.get(scrape_url, timeout=5)
            counted = _requests_counted(after.text, "/health") - _requests_counted(
                before.text, "/health"
            )
            if counted >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        writers = _writers(multiprocess_dir)

    assert on_the_http_port.status_code == 404
    assert before.status_code == after.status_code == 200
    assert not (multiprocess_dir / "counter_999999.db").exists()  # an earlier run's
    assert len(writers) >= 2  # each worker writes its own files; the parent adds them up
    assert counted == 20


def test_several_workers_without_a_multiprocess_dir_get_a_private_one(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        HDUCE_METRICS_PORT=str(metrics_port),
        HDUCE_HTTP_WORKERS="2",
        TMPDIR=str(tmp_path),  # where the parent makes its private directory
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run_command(["db", "upgrade"], env, tmp_path)

    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with running_server(tmp_path, env, command="api", timeout=60) as base_url:
        [private] = tmp_path.glob("hduce-metrics-*")
        before = _requests_counted(httpx.get(scrape_url, timeout=5).text, "/health")
        with httpx.Client(base_url=base_url) as client:
            for _ in range(10):
                client.get("/health", headers={"Connection": "close"})
        deadline = time.monotonic() + 30
        while True:
            counted = _requests_counted(httpx.get(scrape_url, timeout=5).text, "/health") - before
            if counted >= 10 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        writers = _writers(private)

    assert counted == 10
    assert writers  # the workers counted in the private directory
