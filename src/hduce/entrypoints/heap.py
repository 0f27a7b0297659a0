"""Give the C heap's free pages back to the system once a process has started, and
again every few minutes (glibc's ``malloc_trim``; nothing elsewhere). ``hduce worker``
and every HTTP app process (``hduce serve``, ``hduce api``) do.

Why: importing the libraries and connecting leaves several MB of freed memory inside
glibc's heap (source and bytecode buffers, temporaries of module set-up: 8 to 10 MB
in the worker, about 5 MB in the API once its first readiness check and OpenAPI
document are done). ``free`` returns memory to the system only from the top of the
heap, so those pages stay resident for the life of the process although nothing
uses them; the same happens to what a burst of bookings allocates and frees. A
trim walks the heap and releases every whole free page, about 1 ms the first time
and a fraction of that after. The processes are long-lived and often idle, so their
resident size is what they cost the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from hduce.bootstrap.background import periodic_service

#: Between two trims while the process runs (after a burst, its freed memory goes back).
TRIM_INTERVAL_SECONDS = 120.0


def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (musl, macOS)."""
    try:
        # The symbols the process already has: no library search, no subprocess.
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


def trimmed_heap(interval: float = TRIM_INTERVAL_SECONDS) -> AbstractAsyncContextManager[None]:
    """Trim now (the process has started) and every ``interval`` seconds until exit."""
    trim = malloc_trim()
    if trim is None:
        return contextlib.nullcontext()

    async def trim_once() -> None:
        trim(0)

    return periodic_service("heap-trim", interval, trim_once)()
