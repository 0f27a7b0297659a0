"""The in-memory store keeps trace contexts like the SQL one (``trace_contract.py``)."""

from __future__ import annotations

from tests.unit.adapters.trace_contract import TraceContextContract, stand_in_tracing

__all__ = ["stand_in_tracing"]


class TestMemoryTraceContext(TraceContextContract):
    pass
