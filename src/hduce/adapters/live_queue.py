"""The queue of live messages waiting for one subscriber, shared by the realtime
fan-outs (in process and on Redis).

It is bounded, and a subscriber that falls ``max_queue`` messages behind is *ended*
rather than made to skip some: its stream closes after what it has queued, and the
client resumes from the stored inbox (``Last-Event-ID``), which loses nothing. A
dropped message would be lost without anyone knowing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

Message = dict[str, Any]


class LiveQueue:
    def __init__(self, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._max_queue = max_queue
        self._messages: deque[Message] = deque()
        self._changed = asyncio.Event()
        self._ended = False
        #: True when it ended because the reader fell behind.
        self.overflowed = False

    def put(self, message: Message) -> None:
        """Queue ``message``; past ``max_queue`` waiting ones, end instead (see above)."""
        if self._ended:
            return
        if len(self._messages) >= self._max_queue:
            self.overflowed = True
            self.end()
            return
        self._messages.append(message)
        self._changed.set()

    def end(self) -> None:
        """No more messages: the reader gets what is queued, then the end."""
        self._ended = True
        self._changed.set()

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def closed(self) -> bool:
        """Ended and fully read."""
        return self._ended and not self._messages

    async def get(self, timeout: float | None = None) -> Message | None:  # noqa: ASYNC109
        """The next message; None when ``timeout`` passed first or the queue ended."""
        while True:
            if self._messages:
                return self._messages.popleft()
            if self._ended:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except TimeoutError:
                return None
