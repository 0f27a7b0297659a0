"""The processes' entry points: the ``hduce`` command, the ASGI apps, the worker.

Imported before anything else of a process (``hduce`` runs ``hduce.entrypoints.cli``),
this imports structlog without Rich. structlog imports Rich (and Rich, Pygments) at
import time whenever it is installed (Litestar depends on it), only to make Rich the
default traceback of its ``ConsoleRenderer``: about 4 MB in every process, although the
JSON format never uses it. With Rich marked missing during the import, structlog takes
its plain defaults; HDUCE's console format asks for Rich's traceback explicitly
(``hduce.bootstrap.logging``), so Rich loads at the first exception logged to a
console, and never with JSON logs. The mark is removed at once: Rich still imports
normally later. (The same pattern as ``hduce.entrypoints.worker`` for advanced-alchemy.)
"""

from __future__ import annotations

import sys


def _import_structlog_without_rich() -> None:
    if "structlog" in sys.modules or "rich" in sys.modules:
        return  # already imported (a test process): nothing to save
    sys.modules["rich"] = None  # type: ignore[assignment]  # "not installed"
    try:
        import structlog  # noqa: F401
    finally:
        del sys.modules["rich"]


_import_structlog_without_rich()
