"""In-memory ``SecondFactorStore``: the fake of the unit tests (the app always keeps
the second factor in SQL, SQLite when embedded). Each method runs without awaiting
between its reads and writes, so on one event loop every call is atomic, like the
conditional ``UPDATE`` it mirrors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from hduce.application.ports.second_factor import TotpEnrolment


class InMemorySecondFactorStore:
    def __init__(self) -> None:
        self._enrolments: dict[UUID, TotpEnrolment] = {}
        #: user id -> code hash -> used at (None while unused)
        self._codes: dict[UUID, dict[str, datetime | None]] = {}
        self._sessions: dict[UUID, UUID] = {}

    async def get(self, user_id: UUID) -> TotpEnrolment | None:
        enrolment = self._enrolments.get(user_id)
        if enrolment is None:
            return None
        left = sum(1 for used in self._codes.get(user_id, {}).values() if used is None)
        return replace(enrolment, recovery_codes_left=left)

    async def set_pending(self, user_id: UUID, sealed_secret: str, now: datetime) -> None:
        current = self._enrolments.get(user_id) or TotpEnrolment(user_id, None, None, None, None)
        self._enrolments[user_id] = replace(
            current, pending_secret=sealed_secret, pending_since=now
        )

    async def confirm(
        self,
        user_id: UUID,
        *,
        pending_secret: str,
        step: int,
        recovery_code_hashes: Sequence[str],
        now: datetime,
    ) -> bool:
        current = self._enrolments.get(user_id)
        if current is None or current.pending_secret != pending_secret:
            return False
        self._enrolments[user_id] = replace(
            current,
            secret=pending_secret,
            confirmed_at=now,
            pending_secret=None,
            pending_since=None,
            last_used_step=step,
        )
        self._codes[user_id] = dict.fromkeys(recovery_code_hashes)
        return True

    async def use_step(self, user_id: UUID, step: int) -> bool:
        current = self._enrolments.get(user_id)
        if current is None or current.secret is None:
            return False
        if current.last_used_step is not None and current.last_used_step >= step:
            return False
        self._enrolments[user_id] = replace(current, last_used_step=step)
        return True

    async def use_recovery_code(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        codes = self._codes.get(user_id, {})
        if code_hash not in codes or codes[code_hash] is not None:
            return False
        codes[code_hash] = now
        return True

    async def remove(self, user_id: UUID) -> bool:
        self._codes.pop(user_id, None)
        return self._enrolments.pop(user_id, None) is not None

    async def mark_session(self, session_id: UUID, user_id: UUID, now: datetime) -> None:
        self._sessions.setdefault(session_id, user_id)

    async def is_session_marked(self, session_id: UUID) -> bool:
        return session_id in self._sessions

    async def forget_ended_sessions(self, now: datetime) -> int:
        # This fake does not see the refresh tokens, so it cannot tell an ended session:
        # it keeps every mark (a test process does not live long enough to mind).
        return 0
