"""Tracing on and off (``hduce.bootstrap.tracing``): off by default and then free (no
OpenTelemetry module loaded, no provider, the ``NoTracing`` hook); on, log lines name
the active span and stored contexts resume into the same trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hduce.application.tracing import NO_TRACING, tracing
from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.settings import Settings, SettingsError
from hduce.bootstrap.tracing import active_telemetry, configure_tracing, shutdown_tracing

SECRET = {"HDUCE_JWT_SECRET": "tracing-tests-secret-0123456789abcdef"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing(Settings.from_env(SECRET), exporter=exporter)
    try:
        yield exporter
    finally:
        shutdown_tracing()


def test_tracing_is_off_without_an_otlp_endpoint() -> None:
    settings = Settings.from_env(SECRET)

    assert settings.tracing is None
    assert configure_tracing(settings) is None
    assert active_telemetry() is None
    assert tracing() is NO_TRACING
    assert settings.summary()["tracing"] == "off"


def test_a_process_without_an_endpoint_configures_no_tracer_provider(tmp_path: Path) -> None:
    """The API app built with HDUCE_OTLP_ENDPOINT unset: no telemetry, OpenTelemetry's
    global provider never set, the SDK's tracer and the instrumentations never loaded
    (Litestar and redis-py load parts of the API themselves when it is installed)."""
    program = (
        "import sys\n"
        "from hduce.entrypoints.asgi import build_api_app\n"
        "build_api_app()\n"
        "from hduce.bootstrap.tracing import active_telemetry\n"
        "from opentelemetry import trace\n"
        "print('ACTIVE:', active_telemetry())\n"
        "print('PROVIDER:', type(trace.get_tracer_provider()).__name__)\n"
        "ours = ('opentelemetry.sdk.trace', 'opentelemetry.instrumentation.asyncpg',\n"
        "        'opentelemetry.instrumentation.redis', 'opentelemetry.exporter')\n"
        "print('LOADED:', sorted(m for m in sys.modules if m.startswith(ours)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDUCE_", "OTEL_"))} | {
        "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        **SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "ACTIVE: None" in result.stdout
    assert "PROVIDER: ProxyTracerProvider" in result.stdout  # the API's "none set yet"
    assert "LOADED: []" in result.stdout


def test_tracing_settings() -> None:
    settings = Settings.from_env(
        SECRET
        | {
            "HDUCE_OTLP_ENDPOINT": "http://collector.internal:4318/",
            "HDUCE_OTLP_SERVICE_NAME": "hduce-worker",
            "HDUCE_TRACE_SAMPLE_RATIO": "0.25",
        }
    )
    assert settings.tracing is not None
    assert settings.tracing.otlp_endpoint == "http://collector.internal:4318"
    assert settings.tracing.service_name == "hduce-worker"
    assert settings.tracing.sample_ratio == 0.25
    assert settings.summary()["tracing"] == "http://collector.internal:4318"
    defaults = Settings.from_env(SECRET | {"HDUCE_OTLP_ENDPOINT": "https://otlp.example.org"})
    assert defaults.tracing is not None
    assert (defaults.tracing.service_name, defaults.tracing.sample_ratio) == ("hduce", 1.0)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HDUCE_OTLP_ENDPOINT", "collector:4318", "an http:// or https:// URL"),
        ("HDUCE_TRACE_SAMPLE_RATIO", "1.5", "a number from 0 to 1"),
        ("HDUCE_TRACE_SAMPLE_RATIO", "all", "a number from 0 to 1"),
    ],
)
def test_tracing_settings_are_refused_with_the_variable_named(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{name}=.*expected {expected}"):
        Settings.from_env(SECRET | {name: value})


def test_log_lines_name_the_active_span(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    import structlog

    configure_logging(Settings.from_env(SECRET | {"HDUCE_LOG_FORMAT": "json"}))
    log = structlog.get_logger("hduce.test")
    capsys.readouterr()
    with tracing().span("booking"):
        log.info("inside")
    log.info("outside")

    lines = {
        line["event"]: line
        for line in map(json.loads, capsys.readouterr().out.splitlines())
        if line.get("logger") == "hduce.test"
    }
    [span] = spans.get_finished_spans()
    assert lines["inside"]["trace_id"] == f"{span.context.trace_id:032x}"
    assert lines["inside"]["span_id"] == f"{span.context.span_id:016x}"
    assert "trace_id" not in lines["outside"]


def test_a_stored_context_resumes_into_the_same_trace(spans: InMemorySpanExporter) -> None:
    hook = tracing()
    with hook.span("request"):
        stored = hook.current_context()
    assert stored is not None and set(stored) <= {"traceparent", "tracestate"}
    assert hook.current_context() is None  # no span active any more

    with hook.resumed(stored), hook.span("later", kind="consumer"):
        pass
    with hook.resumed(None), hook.span("unrelated"):
        pass

    request, later, unrelated = spans.get_finished_spans()
    assert later.context.trace_id == request.context.trace_id
    assert later.parent is not None and later.parent.span_id == request.context.span_id
    assert unrelated.parent is None and unrelated.context.trace_id != request.context.trace_id


def test_untraced_blocks_record_no_library_span_until_a_context_resumes(
    spans: InMemorySpanExporter,
) -> None:
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled

    hook = tracing()
    with hook.span("request"):
        stored = hook.current_context()
    with hook.untraced():
        assert not is_instrumentation_enabled()
        with hook.resumed(stored):
            assert is_instrumentation_enabled()
    assert is_instrumentation_enabled()


def test_tracing_without_the_extra_installed_is_a_configuration_error(tmp_path: Path) -> None:
    """``hduce`` refuses to start, naming the extra, rather than running untraced."""
    program = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if hduce[tracing] were not installed\n"
        "from hduce.entrypoints.cli import main\n"
        "main(['worker'])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDUCE_", "OTEL_"))} | {
        "HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hduce.sqlite3'}",
        "HDUCE_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        **SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert "HDUCE_OTLP_ENDPOINT is set but OpenTelemetry is not installed" in result.stderr
    assert "hduce[tracing]" in result.stderr
