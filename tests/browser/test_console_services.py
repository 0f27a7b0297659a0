"""The console's core flow on the production shape: ``hduce api`` and ``hduce worker``
processes on PostgreSQL, Redis and RabbitMQ (the other browser tests run ``hduce
serve``, the embedded default: SQLite and the in-process bus).

A patient books, the doctor (in a second browser context) sees the request appear in
their queue and approves it, and the patient's bell count changes without a reload:
the notification is stored by the worker, which consumed the event from RabbitMQ, and
pushed to the API process's event stream through Redis (ADR 0009).

The services come from ``HDUCE_TEST_POSTGRES_URL`` / ``HDUCE_TEST_REDIS_URL`` /
``HDUCE_TEST_RABBITMQ_URL`` (or containers); without them the test skips, and fails
under ``HDUCE_TEST_REQUIRE_SERVICES=1`` (``tests/services.py``), as does a missing
Chromium.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from hduce.domain.ids import uuid7
from tests import services
from tests.browser.conftest import JWT_SECRET, SCREENSHOTS
from tests.browser.console import DEMO_PASSWORD, DOCTOR, PATIENT, Console
from tests.e2e.server import clean_environment, run_command, running_server
from tests.e2e.split_support import stop, wait_started, worker_processes


@contextmanager
def temporary_database(admin_url: str) -> Iterator[str]:
    """``services.temporary_database`` on an event loop of its own, in a thread of its
    own (Playwright's sync API owns this thread's loop); one loop from creation to drop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    database = services.temporary_database(admin_url, prefix="hduce_console")
    try:
        yield asyncio.run_coroutine_threadsafe(database.__aenter__(), loop).result(60)
        asyncio.run_coroutine_threadsafe(database.__aexit__(None, None, None), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def split_console_url(
    postgres_url: str, redis_url: str, rabbitmq_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("console-split")
    with temporary_database(postgres_url) as database:
        env = clean_environment(
            HDUCE_DATABASE_URL=database,
            HDUCE_REDIS_URL=redis_url,
            HDUCE_BROKER_URL=rabbitmq_url,
            HDUCE_BROKER_PREFIX=f"console_{uuid7().hex[-10:]}",
            HDUCE_JWT_SECRET=JWT_SECRET,
        )
        run_command(["db", "upgrade"], env, workdir)  # what an operator runs first
        run_command(["seed-demo", "--password", DEMO_PASSWORD], env, workdir)
        with (
            worker_processes(1, workdir, env) as workers,
            running_server(workdir, env, command="api") as base_url,
        ):
            wait_started(workers)
            yield base_url
            stop(workers)


@pytest.fixture
def split_console(
    browser: object, split_console_url: str, request: pytest.FixtureRequest
) -> Iterator[Console]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened = Console(browser, split_console_url, SCREENSHOTS, request.node.name)  # type: ignore[arg-type]
    try:
        yield opened
    finally:
        opened.close()


def test_on_postgres_redis_and_rabbitmq_the_bell_rings_across_processes(
    split_console: Console,
) -> None:
    doctor = split_console.person("doctor")
    doctor.sign_in(DOCTOR)
    doctor.page.get_by_role("link", name="Requests").click()
    expect(doctor.page.get_by_role("heading", name="Pending requests")).to_be_visible()

    patient = split_console.person("patient")
    patient.sign_in(PATIENT)
    patient.go("/doctors?name=Romero")
    patient.page.get_by_role("link", name=re.compile("See free times")).click()
    patient.page.locator("a.slot").first.click()
    patient.page.locator("#reason").fill("Split deployment, browser test")
    patient.page.get_by_role("button", name="Request this appointment").click()
    expect(patient.page.get_by_role("status")).to_contain_text("Requested")
    patient.check("appointments-split")
    before = patient.bell_count()
    patient.page.evaluate("window.hduceNotReloaded = true")  # a reload would forget it

    # The doctor's queue, open all along, is redrawn by the event stream.
    card = doctor.page.locator(".card", has_text="Split deployment, browser test")
    expect(card).to_be_visible(timeout=30_000)
    doctor.check("queue-split")
    card.get_by_role("button", name="Approve").click()
    expect(doctor.page.get_by_role("status")).to_contain_text("Approved")

    expect(patient.page.locator("#bell-count")).not_to_have_text(before, timeout=30_000)
    assert patient.page.evaluate("window.hduceNotReloaded") is True
    patient.page.locator("a.bell").click()
    expect(patient.page.get_by_text("Appointment approved").first).to_be_visible()
    patient.check("notifications-split")
