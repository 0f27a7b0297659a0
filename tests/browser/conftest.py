"""Browser tests of the web console: Playwright for Python driving Debian's Chromium.

The console runs as a real ``hduce serve`` process (the embedded default: SQLite in a
temporary directory, in-process broker and live fan-out) with the demo clinic seeded.
Chromium is Debian's ``chromium`` package (``.ci/run`` installs it): Playwright's own
browser download is not used. Without it the tests skip, or fail under
``HDUCE_TEST_REQUIRE_SERVICES=1``. Screenshots of every page visited go to
``var/screenshots/`` (gitignored), as test artifacts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.console import DEMO_PASSWORD, Console
from tests.e2e.server import clean_environment, run_command, running_server
from tests.services import SmtpServer, unavailable

JWT_SECRET = "browser-tests-secret-0123456789abcdef"
MAIL_PUBLIC_URL = "https://console.hduce.test"
CHROMIUM_ENV = "HDUCE_TEST_CHROMIUM"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def chromium_executable() -> str:
    """``HDUCE_TEST_CHROMIUM``, else Debian's ``chromium`` on PATH."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        unavailable("chromium", f"not installed (apt-get install chromium, or set {CHROMIUM_ENV})")
    return found


@pytest.fixture(scope="session")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


@contextmanager
def serve_console(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[str]:
    """A console server with the demo clinic. Its rate limits (sign-ins and
    registrations per client address: every test is 127.0.0.1) are its own, so a test
    module that signs in a lot has a server of its own (a module-scoped ``console_url``
    fixture in that module)."""
    workdir = tmp_path_factory.mktemp("console")
    # Mail goes to the SMTP fixture (tests read the emailed links there); the links name
    # MAIL_PUBLIC_URL, whose path and token the tests open on this server.
    env = clean_environment(
        HDUCE_JWT_SECRET=JWT_SECRET,
        HDUCE_SMTP_URL=smtp_server.url,
        HDUCE_PUBLIC_URL=MAIL_PUBLIC_URL,
    )
    run_command(["seed-demo", "--password", DEMO_PASSWORD], env, workdir)
    with running_server(workdir, env) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console(browser: object, console_url: str, request: pytest.FixtureRequest) -> Iterator[Console]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened = Console(browser, console_url, SCREENSHOTS, request.node.name)
    try:
        yield opened
    finally:
        opened.close()
