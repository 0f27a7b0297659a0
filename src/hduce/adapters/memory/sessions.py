"""In-memory session records (``SessionStore``), beside ``InMemoryRefreshTokenStore``:
a session is active while that store holds a live token of its family."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.identity import InMemoryRefreshTokenStore
from hduce.domain.errors import AlreadyExists
from hduce.domain.sessions import UserSession


class InMemorySessionStore:
    def __init__(self, refresh_tokens: InMemoryRefreshTokenStore) -> None:
        self._tokens = refresh_tokens
        self._sessions: dict[UUID, UserSession] = {}

    async def add(self, session: UserSession) -> None:
        if session.id in self._sessions:
            raise AlreadyExists(f"session {session.id} already recorded")
        self._sessions[session.id] = session

    async def touch(
        self, session: UserSession, *, now: datetime, network: str | None
    ) -> UserSession:
        current = self._sessions.get(session.id, session)
        touched = replace(current, last_used_at=max(current.last_used_at, now), network=network)
        self._sessions[session.id] = touched
        return touched

    async def get(self, session_id: UUID) -> UserSession | None:
        return self._sessions.get(session_id)

    async def active(self, user_id: UUID, *, now: datetime) -> Sequence[UserSession]:
        live = self._tokens.live_families(now, user_id)
        found = [s for s in self._sessions.values() if s.user_id == user_id and s.id in live]
        return sorted(found, key=lambda s: (s.last_used_at, s.id), reverse=True)

    async def live_sessions(self, user_id: UUID, *, now: datetime) -> set[UUID]:
        return self._tokens.live_families(now, user_id)

    async def devices_seen(self, user_id: UUID, *, excluding: UUID) -> set[tuple[str, str | None]]:
        return {
            (s.client, s.network)
            for s in self._sessions.values()
            if s.user_id == user_id and s.id != excluding
        }

    async def forget_ended(self, *, before: datetime) -> int:
        known = self._tokens.families()
        ended = [
            s.id for s in self._sessions.values() if s.last_used_at < before and s.id not in known
        ]
        for session_id in ended:
            del self._sessions[session_id]
        return len(ended)
