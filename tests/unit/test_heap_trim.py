"""The worker and the HTTP app processes give their heap's free pages back
(``hduce.entrypoints.heap``)."""

from __future__ import annotations

import asyncio
import platform
from pathlib import Path

import pytest
from litestar.testing import TestClient

from hduce.bootstrap.settings import Settings
from hduce.entrypoints import heap
from hduce.entrypoints.asgi import build_app


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_malloc_trim_is_found_and_runs() -> None:
    trim = heap.malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release


async def test_the_heap_is_trimmed_at_start_then_every_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "malloc_trim", lambda: calls.append)

    async with heap.trimmed_heap(interval=0.01):
        await asyncio.sleep(0)
        assert len(calls) == 1  # at once: what start-up freed goes back
        await asyncio.sleep(0.05)
    trims = len(calls)
    assert trims >= 3
    await asyncio.sleep(0.03)
    assert len(calls) == trims  # stopped with the worker


async def test_without_malloc_trim_nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "malloc_trim", lambda: None)
    async with heap.trimmed_heap(interval=0.01):
        await asyncio.sleep(0.02)
        assert "heap-trim" not in {task.get_name() for task in asyncio.all_tasks()}


def test_an_http_app_process_trims_its_heap_once_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "malloc_trim", lambda: calls.append)
    settings = Settings.from_env(
        {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'trim.sqlite3'}"}
    )
    app = build_app(settings, mode="api")
    assert calls == []
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert calls == [0]
