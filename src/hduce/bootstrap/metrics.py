"""Prometheus metrics.

HTTP metrics come from Litestar's Prometheus middleware (its configuration and the
/metrics controller are in ``hduce.entrypoints.http.metrics``, so the worker does not
load Litestar for them); the objects below are
the application's own, created once at import (prometheus_client refuses a
second registration of the same name) and updated by whichever module does
the work.

With several HTTP worker processes (``--workers N``) each one counts in files of
prometheus_client's multiprocess mode, and a scrape of /metrics, whichever worker
answers it, adds up every worker's (the ``multiprocess_mode`` of each gauge says
how): ``hduce api``/``serve`` give the workers a private ``PROMETHEUS_MULTIPROC_DIR``
when none is set (``hduce.bootstrap.multiprocess``, ADR 0011). ``hduce worker`` is one
process and serves its own registry (``hduce.entrypoints.worker.http``).

Every metric is listed with its labels in docs/metrics.md.

``HDUCE_METRICS_PORT`` moves /metrics off the HTTP port to a listener of its own
(prometheus_client's, in a thread), so the public port does not expose it:

* one HTTP worker (the default): that process serves its metrics, started and
  stopped with the app (``app_metrics_listener``);
* ``--workers N`` > 1: one port cannot be shared by N processes, so the server's
  parent process serves the metrics of all of them (``workers_metrics_listener``),
  aggregated from the multiprocess directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import structlog
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from hduce.application.ports import (
    BookingOutcome,
    CheckInRequest,
    DeviceInbox,
    DeviceReply,
    EmailSender,
    EventPublisher,
    HeartbeatRequest,
    OutboxStats,
    ReminderOutcome,
    SmsSender,
)
from hduce.bootstrap.multiprocess import MULTIPROCESS_DIR_ENV
from hduce.bootstrap.settings import Settings, SettingsError
from hduce.domain.appointment_status import AppointmentStatus
from hduce.domain.events import CATALOGUE, DomainEvent

METRICS_PATH = "/metrics"

_log = structlog.get_logger(__name__)

# No ``*_created`` series: the multiprocess mode has none, and one process or several
# should show the same names (``rate()`` does not need them).
disable_created_metrics()

OUTBOX_BACKLOG = Gauge(
    "hduce_outbox_backlog",
    "Outbox events written but not yet relayed to the broker.",
    multiprocess_mode="max",
)
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "hduce_outbox_oldest_age_seconds",
    "Age of the oldest unrelayed outbox event (0 when the outbox is empty).",
    multiprocess_mode="max",
)
EVENTS_PUBLISHED = Counter(
    "hduce_events_published",
    "Domain events relayed from the outbox to the event bus.",
    ["type"],
)
EVENTS_CONSUMED = Counter(
    "hduce_events_consumed",
    "Events handled by a consumer, by event type; outcome is processed (the handler "
    "returned: done, or seen before and skipped) or failed (one failed attempt).",
    ["consumer", "type", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "hduce_events_dead_lettered",
    "Broker messages moved to a consumer's dead letters; reason is malformed (the "
    "message did not decode) or failed (the handler failed every attempt).",
    ["consumer", "reason"],
)
NOTIFICATIONS_SENT = Counter(
    "hduce_notifications_sent",
    "Notification delivery attempts; status is sent or failed.",
    ["channel", "status"],
)
BOOKINGS = Counter(
    "hduce_bookings",
    "Booking attempts that reached the booking rules; outcome is created, conflict (an "
    "overlap, 409) or refused (another booking rule: working hours, notice, horizon...).",
    ["outcome"],
)
APPOINTMENT_TRANSITIONS = Counter(
    "hduce_appointment_transitions",
    "Committed status moves of existing appointments (bookings are hduce_bookings_total).",
    ["from_status", "to_status"],
)
CONFLICT_CHECK_SECONDS = Histogram(
    "hduce_conflict_check_seconds",
    "Time a booking spent on its overlap check and insert (inside its transaction).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RELAY_LATENCY_SECONDS = Histogram(
    "hduce_relay_latency_seconds",
    "From an event's occurred_at to the bus (broker or in-process) accepting it from the relay.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
)
CONSUMER_LAG_SECONDS = Gauge(
    "hduce_consumer_lag_seconds",
    "now - occurred_at of the last event a consumer started handling.",
    ["consumer"],
    multiprocess_mode="livemax",
)
REMINDERS = Counter(
    "hduce_reminders",
    "Reminders: due (fell due, claimed once across processes), sent (reminder.due "
    "emitted), late (sent more than 2 minutes after falling due).",
    ["outcome"],
)
SSE_STREAMS_OPEN = Gauge(
    "hduce_sse_streams_open",
    "Notification streams (SSE) open now.",
    multiprocess_mode="livesum",
)
LOGINS = Counter(
    "hduce_logins",
    "Sign-ins by method (password, google, refresh) and outcome (success, failure).",
    ["method", "outcome"],
)
READINESS_UP = Gauge(
    "hduce_readiness_up",
    "1 when the check answered at the last readiness check, else 0.",
    ["check"],
    multiprocess_mode="livemostrecent",
)
DEVICE_MESSAGES = Counter(
    "hduce_device_messages",
    "Messages of check-in devices; kind is checkin or heartbeat, outcome is checked_in, "
    "already_checked_in, seen, refused (the rules said no), unauthorized (unknown or "
    "revoked device, wrong secret) or malformed.",
    ["kind", "outcome"],
)


# ---------------------------------------------------------------- a port of its own


def collecting_registry() -> CollectorRegistry:
    """What a scrape reports: this process, or every process of the multiprocess directory."""
    directory = os.environ.get(MULTIPROCESS_DIR_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


@contextmanager
def metrics_listener(host: str, port: int) -> Iterator[None]:
    """Serve the metrics on ``host:port`` (any path) until the block ends."""
    try:
        server, thread = start_http_server(port, addr=host, registry=collecting_registry())
    except OSError as exc:
        raise SettingsError(
            f"HDUCE_METRICS_PORT={port}: cannot listen on {host}:{port} ({exc.strerror})"
        ) from exc
    _log.info("metrics listening", url=f"http://{host}:{port}{METRICS_PATH}")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def app_metrics_listener(settings: Settings) -> AbstractContextManager[None]:
    """The listener a single-worker app runs beside HTTP (nothing when unconfigured, or
    when several workers run: their parent serves them)."""
    port = settings.http.metrics_port
    if port is None or settings.http.workers > 1:
        return nullcontext()
    return metrics_listener(settings.http.host, port)


def workers_metrics_listener(
    settings: Settings, host: str, workers: int
) -> AbstractContextManager[None]:
    """For the parent of ``workers`` > 1 HTTP processes: every worker's metrics, one port."""
    port = settings.http.metrics_port
    if port is None or workers == 1:
        return nullcontext()
    directory = os.environ.get(MULTIPROCESS_DIR_ENV, "")
    if not directory or not Path(directory).is_dir():
        raise SettingsError(
            f"HDUCE_METRICS_PORT with {workers} workers: {MULTIPROCESS_DIR_ENV}={directory!r} "
            "is not a directory"
        )
    return metrics_listener(host, port)


# ---------------------------------------------------------------- port decorators
# Counting happens here, around the ports, so the application layer stays free of
# Prometheus and every adapter is counted the same way.


class MeteredPublisher:
    """An ``EventPublisher`` that counts what the bus accepted, by event type, and how
    long after it occurred (the relay publishes: this is the relay's latency)."""

    def __init__(self, inner: EventPublisher) -> None:
        self._inner = inner

    async def publish(self, event: DomainEvent) -> None:
        await self._inner.publish(event)
        EVENTS_PUBLISHED.labels(type=event.type).inc()
        RELAY_LATENCY_SECONDS.observe(max(0.0, _seconds_since(event.occurred_at)))


def _seconds_since(instant: datetime) -> float:
    return (datetime.now(UTC) - instant).total_seconds()


class PrometheusConsumerMetrics:
    """What consumers report: the broker's (``hduce.adapters.messaging.consumers``)
    and the in-process bus's (``hduce.bootstrap.background``)."""

    def started(self, consumer: str, event: DomainEvent) -> None:
        CONSUMER_LAG_SECONDS.labels(consumer=consumer).set(
            max(0.0, _seconds_since(event.occurred_at))
        )

    def processed(self, consumer: str, event: DomainEvent) -> None:
        EVENTS_CONSUMED.labels(consumer=consumer, type=event.type, outcome="processed").inc()

    def failed(self, consumer: str, event: DomainEvent) -> None:
        EVENTS_CONSUMED.labels(consumer=consumer, type=event.type, outcome="failed").inc()

    def dead_lettered(self, consumer: str, reason: str) -> None:
        EVENTS_DEAD_LETTERED.labels(consumer=consumer, reason=reason).inc()


class PrometheusApplicationMetrics:
    """The application's ``AppointmentMetrics`` and ``ReminderMetrics`` ports."""

    def booking(self, outcome: BookingOutcome) -> None:
        BOOKINGS.labels(outcome=outcome).inc()

    def conflict_check(self, seconds: float) -> None:
        CONFLICT_CHECK_SECONDS.observe(seconds)

    def transition(self, from_status: str, to_status: str) -> None:
        APPOINTMENT_TRANSITIONS.labels(from_status=from_status, to_status=to_status).inc()

    def reminders(self, outcome: ReminderOutcome, count: int) -> None:
        if count:
            REMINDERS.labels(outcome=outcome).inc(count)


def record_login(method: str, *, success: bool) -> None:
    LOGINS.labels(method=method, outcome="success" if success else "failure").inc()


def record_readiness(check: str, *, up: bool) -> None:
    READINESS_UP.labels(check=check).set(1 if up else 0)


@contextmanager
def counted_stream() -> Iterator[None]:
    """Counts a notification stream as open for the length of the block."""
    SSE_STREAMS_OPEN.inc()
    try:
        yield
    finally:
        SSE_STREAMS_OPEN.dec()


class MeteredEmailSender:
    def __init__(self, inner: EmailSender) -> None:
        self._inner = inner

    async def send(self, *, to: str, subject: str, body: str) -> None:
        try:
            await self._inner.send(to=to, subject=subject, body=body)
        except Exception:
            NOTIFICATIONS_SENT.labels(channel="email", status="failed").inc()
            raise
        NOTIFICATIONS_SENT.labels(channel="email", status="sent").inc()


class MeteredSmsSender:
    def __init__(self, inner: SmsSender) -> None:
        self._inner = inner

    async def send(self, *, to: str, body: str) -> None:
        try:
            await self._inner.send(to=to, body=body)
        except Exception:
            NOTIFICATIONS_SENT.labels(channel="sms", status="failed").inc()
            raise
        NOTIFICATIONS_SENT.labels(channel="sms", status="sent").inc()


class MeteredDeviceInbox:
    """A ``DeviceInbox`` that counts each message by kind and outcome."""

    def __init__(self, inner: DeviceInbox) -> None:
        self._inner = inner

    async def check_in(self, request: CheckInRequest) -> DeviceReply:
        return _counted(await self._inner.check_in(request))

    async def heartbeat(self, request: HeartbeatRequest) -> DeviceReply:
        return _counted(await self._inner.heartbeat(request))

    async def malformed(self, kind: str, device_id: str, error: str) -> DeviceReply:
        return _counted(await self._inner.malformed(kind, device_id, error))


def _counted(reply: DeviceReply) -> DeviceReply:
    DEVICE_MESSAGES.labels(kind=reply.kind, outcome=reply.outcome.value).inc()
    return reply


def record_outbox_stats(stats: OutboxStats) -> None:
    OUTBOX_BACKLOG.set(stats.backlog)
    OUTBOX_OLDEST_AGE_SECONDS.set(stats.oldest_age_seconds)


# ---------------------------------------------------------------- zeros before the first event

_S = AppointmentStatus
#: The moves of the state machine (docs/architecture.md), shown at 0 before they happen.
_MOVES = (
    (_S.PENDING, _S.APPROVED),
    (_S.PENDING, _S.REJECTED),
    (_S.PENDING, _S.CANCELLED),
    (_S.PROPOSED, _S.APPROVED),
    (_S.PROPOSED, _S.REJECTED),
    (_S.PROPOSED, _S.CANCELLED),
    (_S.APPROVED, _S.CANCELLED),
    (_S.APPROVED, _S.CHECKED_IN),
    (_S.APPROVED, _S.COMPLETED),
    (_S.APPROVED, _S.NO_SHOW),
    (_S.CHECKED_IN, _S.COMPLETED),
    *((status, _S.ENTERED_IN_ERROR) for status in (_S.PENDING, _S.PROPOSED, _S.APPROVED)),
    (_S.CHECKED_IN, _S.ENTERED_IN_ERROR),
)


def initialise_metrics(*, http: bool, consumers: dict[str, tuple[str, ...]] | None = None) -> None:
    """Create the common label values at 0, so a scrape shows them (and rate() works)
    before the first event. ``http``: this process serves the API (bookings, sign-ins);
    ``consumers``: each consumer this process runs and the event types it handles (None:
    it relays and consumes nothing)."""
    for from_status, to_status in _MOVES:  # requests, and the expiry sweep
        APPOINTMENT_TRANSITIONS.labels(from_status=from_status.value, to_status=to_status.value)
    if http:
        for outcome in ("created", "conflict", "refused"):
            BOOKINGS.labels(outcome=outcome)
        for method in ("password", "google", "refresh"):
            for login_outcome in ("success", "failure"):
                LOGINS.labels(method=method, outcome=login_outcome)
    if consumers is None:
        return
    for channel in ("email", "sms"):
        for status in ("sent", "failed"):
            NOTIFICATIONS_SENT.labels(channel=channel, status=status)
    for reminder in ("due", "sent", "late"):
        REMINDERS.labels(outcome=reminder)
    for event_type in CATALOGUE:
        EVENTS_PUBLISHED.labels(type=event_type)
    for consumer, types in consumers.items():
        CONSUMER_LAG_SECONDS.labels(consumer=consumer)
        for reason in ("malformed", "failed"):
            EVENTS_DEAD_LETTERED.labels(consumer=consumer, reason=reason)
        for event_type in types:
            for consumed in ("processed", "failed"):
                EVENTS_CONSUMED.labels(consumer=consumer, type=event_type, outcome=consumed)


# ---------------------------------------------------------------- several HTTP workers


def forget_this_process() -> None:
    """At a worker process's exit: its live gauges (open streams, readiness, lag) stop
    counting (the parent keeps its counters: they stay part of the totals)."""
    if os.environ.get(MULTIPROCESS_DIR_ENV):
        mark_process_dead(os.getpid())
