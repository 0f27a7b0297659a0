"""What a JSON log line carries once logging is configured, and what is not collected."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from hduce.bootstrap.logging import configure_logging
from hduce.bootstrap.settings import Settings


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_lines_keep_their_fields_without_the_caller_thread_or_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings.from_env({"HDUCE_LOG_FORMAT": "json", "HDUCE_LOG_LEVEL": "INFO"}))
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        capsys.readouterr()
        with structlog.contextvars.bound_contextvars(request_id="line-1"):
            structlog.get_logger("hduce.access").info("request", method="GET", status=200)
            logging.getLogger("litestar").warning("from %s", "a library")
    finally:
        logging.getLogger().removeHandler(keep)

    ours, foreign = _lines(capsys.readouterr().out)[-2:]
    assert {k: v for k, v in ours.items() if k != "timestamp"} == {
        "event": "request",
        "method": "GET",
        "status": 200,
        "request_id": "line-1",
        "level": "info",
        "logger": "hduce.access",
    }
    assert {k: v for k, v in foreign.items() if k != "timestamp"} == {
        "event": "from a library",
        "request_id": "line-1",
        "level": "warning",
        "logger": "litestar",
    }
    assert isinstance(ours["timestamp"], str) and isinstance(foreign["timestamp"], str)
    # Nothing above renders where the call came from, nor the thread or process.
    assert [(r.funcName, r.lineno, r.threadName, r.process) for r in records] == [
        ("(unknown function)", 0, None, None),
        ("(unknown function)", 0, None, None),
    ]
