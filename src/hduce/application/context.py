"""Request-scoped context shared by the layers without passing it everywhere."""

from __future__ import annotations

from contextvars import ContextVar

#: The id of the request (or message) being handled; stamped on the events it causes.
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
