"""The console's plumbing that needs no browser: vendored files as pinned, redirects
only within the site, and the browser tests' refusal to skip when told not to."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hduce.entrypoints import web
from hduce.entrypoints.web.views import safe_next

#: As recorded in src/hduce/entrypoints/web/static/README.md.
VENDORED = {
    "htmx-2.0.11/htmx.min.js": "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717",
    "htmx-ext-sse-2.2.4/sse.min.js": (
        "98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136"
    ),
}


@pytest.mark.parametrize(("path", "sha256"), sorted(VENDORED.items()))
def test_vendored_files_are_the_pinned_ones(path: str, sha256: str) -> None:
    file = web.WEB_DIR / "static" / path
    assert hashlib.sha256(file.read_bytes()).hexdigest() == sha256
    assert (file.parent / "LICENSE").is_file()
    assert path.split("/")[0] in (web.WEB_DIR / "static" / "README.md").read_text()
    assert f"/static/{path}" in (web.WEB_DIR / "templates" / "base.html").read_text()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/appointments?done=booked", "/appointments?done=booked"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("appointments", "/"),
        (None, "/"),
        ("", "/"),
    ],
)
def test_redirects_stay_on_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_browser_tests_fail_without_chromium_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.browser.conftest import CHROMIUM_ENV, chromium_executable

    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-chromium-here"))
    monkeypatch.setenv("HDUCE_TEST_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        chromium_executable()
    monkeypatch.setenv("HDUCE_TEST_REQUIRE_SERVICES", "0")
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        chromium_executable()


@pytest.mark.parametrize(
    ("service", "url"),
    [
        ("POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:1/postgres"),
        ("REDIS", "redis://127.0.0.1:1/0"),
        ("RABBITMQ", "amqp://guest:guest@127.0.0.1:1/"),
    ],
)
def test_the_split_browser_test_fails_without_its_services_when_they_are_required(
    monkeypatch: pytest.MonkeyPatch, service: str, url: str
) -> None:
    """``tests/browser/test_console_services.py`` takes the session fixtures of the three
    services, which fail (not skip) under HDUCE_TEST_REQUIRE_SERVICES=1 when one is
    missing."""
    import inspect

    from tests import services
    from tests.browser.test_console_services import split_console_url

    wanted = set(inspect.signature(split_console_url.__wrapped__).parameters)  # type: ignore[attr-defined]
    assert {"postgres_url", "redis_url", "rabbitmq_url"} <= wanted
    spec = getattr(services, service)
    monkeypatch.setenv(spec.env_var, url)  # nothing listens on port 1
    monkeypatch.setenv("HDUCE_TEST_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match=spec.env_var), services.provide(spec):
        pass
    monkeypatch.setenv("HDUCE_TEST_REQUIRE_SERVICES", "0")
    with pytest.raises(pytest.skip.Exception), services.provide(spec):
        pass
