"""The directory of prometheus_client's multiprocess mode, for the parent of several
HTTP worker processes (``hduce api``/``serve --workers N``; ADR 0011).

No import of prometheus_client here, on purpose: it picks how values are stored
(memory or files) when first imported, and the HTTP workers are forked from the
parent, so ``PROMETHEUS_MULTIPROC_DIR`` must be set before anything in the parent
imports it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_directory(workers: int) -> Iterator[None]:
    """Before the ``workers`` HTTP processes start: a ``PROMETHEUS_MULTIPROC_DIR`` in
    which each one counts, so /metrics, whichever worker answers, reports all of them.

    A directory the operator set is emptied of an earlier run's files (they would add
    to this run's counters); else, with several workers, a private one is made and
    removed when the server stops. One worker needs none: its registry is the truth.
    """
    directory = os.environ.get(MULTIPROCESS_DIR_ENV)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    private = tempfile.mkdtemp(prefix="hduce-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = private
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR_ENV, None)
        shutil.rmtree(private, ignore_errors=True)
