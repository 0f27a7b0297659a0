"""Trace context beside outbox events and notifications.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:00:00

With tracing on (``HDUCE_OTLP_ENDPOINT``), the change that writes an event stores its
W3C trace context (``traceparent``, ``tracestate``) in ``outbox.trace_context``: the
relay publishes the event as a child of it, so one trace runs from the HTTP request
through the broker to the consumer. A handler's notifications keep the handler's
context in ``notifications.trace_context``, so the delivery sweep's email and SMS
sends join that trace too (docs/decisions/0012-traces-across-the-outbox.md). Both are
NULL when tracing is off, and for every row that exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hduce.adapters.sql.types import JsonDocument

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("outbox", "notifications")


def upgrade() -> None:
    # Nullable, no default: ALTER TABLE ADD COLUMN on both databases, no table rewrite.
    for name in TABLES:
        op.add_column(name, sa.Column("trace_context", JsonDocument, nullable=True))


def downgrade() -> None:
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode (see 0003).
    for name in TABLES:
        op.drop_column(name, "trace_context")
