"""Structured logging for every process.

structlog renders; the standard library transports. Library loggers (granian,
uvicorn, SQLAlchemy, Litestar, FastStream) go through the same
``ProcessorFormatter`` as our own structlog loggers, so a process writes one
format to stdout. ``merge_contextvars`` runs for both, so whatever a request
binds (its request id) appears on every line logged while serving it; with tracing
on, ``add_trace_ids`` adds the ids of the active span (``trace_id``, ``span_id``),
so a line leads to its trace and a trace to its lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import msgspec
import structlog

from hduce.application.tracing import tracing
from hduce.bootstrap.settings import LogFormat, Settings

RenderedFormat = Literal["json", "console"]

# Loggers that install their own handlers when their server starts; they are
# pointed back at the root handler so their lines share our format.
_ROUTED_LOGGERS = (
    "_granian",
    "granian.access",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "litestar",
)
# Chatty at DEBUG in a way that drowns everything else.
_QUIETED_LOGGERS = {
    # Broker clients: a line per request or frame at DEBUG.
    "aiokafka": "INFO",
    "aio_pika": "INFO",
    "aiormq": "INFO",
    "nats": "INFO",
    "aiosqlite": "INFO",
    "asyncio": "INFO",
    "httpcore": "INFO",
    "httpx": "WARNING",  # one INFO line per outgoing request
    "watchfiles": "WARNING",
}

_applied: tuple[str, RenderedFormat] | None = None
_structlog_configured = False


def resolve_log_format(requested: LogFormat, stream: TextIO | None = None) -> RenderedFormat:
    """``auto`` means console for a human at a terminal, JSON for a collector."""
    if requested != "auto":
        return requested
    stream = stream or sys.stdout
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def logging_dict_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` mapping; granian gets the same one for its
    workers. Only strings inside, so it survives pickling to spawned workers."""
    log_format = resolve_log_format(settings.logging.format)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "hduce": {"()": f"{__name__}.build_formatter", "log_format": log_format},
        },
        "handlers": {
            "hduce": {"()": f"{__name__}.StdoutHandler", "formatter": "hduce"},
        },
        "root": {"handlers": ["hduce"], "level": settings.logging.level},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in _ROUTED_LOGGERS},
            **{name: {"level": level} for name, level in _QUIETED_LOGGERS.items()},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the standard library. Calling it again with the
    same level and format does nothing, so every entry point may call it."""
    global _applied
    _skip_unused_record_fields()
    config = logging_dict_config(settings)
    wanted = (settings.logging.level, config["formatters"]["hduce"]["log_format"])
    if wanted == _applied:
        return
    _configure_structlog()
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
    _applied = wanted


def _skip_unused_record_fields() -> None:
    """What no line renders is not collected (the "Optimization" switches of the logging
    HOWTO): the caller's file, line and function (structlog walks the stack for them),
    the thread, the process and its multiprocessing name. Lines carry the event dict
    only; this was 40 % of an access line's CPU (bench/results/*-auth-path.md)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def build_formatter(log_format: RenderedFormat) -> structlog.stdlib.ProcessorFormatter:
    final: list[structlog.typing.Processor]
    if log_format == "json":
        final = [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json_dumps),
        ]
    else:
        colors = _stdout_is_tty()
        final = [
            structlog.dev.ConsoleRenderer(
                colors=colors, exception_formatter=RichTraceback(colors=colors)
            )
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )


@dataclass(frozen=True, slots=True)
class RichTraceback:
    """The console format's tracebacks: Rich's, with its locals, as structlog's own
    default (``structlog.dev.RichTracebackFormatter``) draws them. Rich is imported at the
    first exception: structlog is imported without it (``hduce.entrypoints``), and a
    process logging JSON never loads it."""

    colors: bool

    def __call__(self, sio: TextIO, exc_info: structlog.typing.ExcInfo) -> None:
        from rich.console import Console
        from rich.traceback import Traceback

        sio.write("\n")
        traceback = Traceback.from_exception(*exc_info, show_locals=True, word_wrap=True)
        traceback.code_width = 88
        console = Console(file=sio, color_system="truecolor" if self.colors else None)
        console.print(traceback)


class StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` is *now*: test runners swap it, and a
    handler holding the old object would write to a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _configure_structlog() -> None:
    # The chain never depends on settings (level and format live in the stdlib
    # handler), so loggers cached on first use stay correct after reconfiguring.
    global _structlog_configured
    if _structlog_configured:
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _structlog_configured = True


def add_trace_ids(
    _: Any, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """``trace_id`` and ``span_id`` of the active span (nothing while tracing is off
    or outside any span); ids a line already names are kept."""
    ids = tracing().current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def _shared_processors() -> list[structlog.typing.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


_encoder = msgspec.json.Encoder(enc_hook=str)


def _json_dumps(event: Any, **_: Any) -> str:
    try:
        return _encoder.encode(event).decode()
    except Exception:  # a log line must never raise; fall back to the slow path
        return json.dumps(event, default=str)


def _stdout_is_tty() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())
