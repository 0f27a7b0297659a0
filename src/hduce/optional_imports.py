"""Importing a library without one of its optional dependencies.

Some libraries import an optional package at import time whenever it is installed, for
a feature HDUCE never uses, and a process keeps what it imported for its whole life.
``import_without`` imports such a library once with that package marked missing
(``sys.modules[name] = None``, which the import system reads as "not installed"), so
the library takes the fallback it has for machines without it. The mark is removed at
once: the package still imports normally later, for whoever does use it.

Used for structlog without Rich (``hduce.entrypoints``), redis-py without
OpenTelemetry's SDK (``hduce.adapters.redis._library``) and Litestar without
advanced-alchemy (``hduce.entrypoints._litestar``); ``tests/unit/test_process_imports.py``
pins each.
"""

from __future__ import annotations

import importlib
import sys


def import_without(module: str, *, missing: str) -> None:
    """Import ``module`` as if ``missing`` were not installed, unless either is already
    imported (a test process, tracing on, a migration): then there is nothing to save."""
    if module in sys.modules or missing in sys.modules:
        return
    sys.modules[missing] = None  # type: ignore[assignment]  # "not installed"
    try:
        importlib.import_module(module)
    finally:
        del sys.modules[missing]
