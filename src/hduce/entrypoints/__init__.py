"""The processes' entry points: the ``hduce`` command, the ASGI apps, the worker.

Imported before anything else of a process (``hduce`` runs ``hduce.entrypoints.cli``),
this imports structlog without Rich (``hduce.optional_imports``). structlog imports
Rich (and Rich, Pygments) at import time whenever it is installed (Litestar depends on
it), only to make Rich the default traceback of its ``ConsoleRenderer``: about 4 MB in
every process, although the JSON format never uses it. Without Rich, structlog takes
its plain defaults; HDUCE's console format asks for Rich's traceback explicitly
(``hduce.bootstrap.logging``), so Rich loads at the first exception logged to a
console, and never with JSON logs.
"""

from __future__ import annotations

from hduce.optional_imports import import_without

import_without("structlog", missing="rich")
