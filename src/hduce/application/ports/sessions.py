"""Session ports: what is recorded of each session (client, network, first and last
use), and the parser that names a client from its user agent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from hduce.domain.sessions import UserSession


class SessionStore(Protocol):
    """One record per session (refresh-token family), beside the ``RefreshTokenStore``.

    Whether a session is *active* is the refresh-token store's answer, not a copy: a
    session is listed while its family holds a live refresh token (not rotated, not
    revoked, not expired), so logout, reuse detection, deactivation and revocation end
    it in the list too, without telling this store. Each method is its own short
    transaction, like the refresh-token store's."""

    async def add(self, session: UserSession) -> None:
        """Record a new session (at sign-in)."""
        ...

    async def touch(
        self, session: UserSession, *, now: datetime, network: str | None
    ) -> UserSession:
        """The session was used (a refresh): ``last_used_at`` and the network become
        ``now`` and ``network``. A session with no record yet (begun before sessions were
        recorded) is recorded as ``session`` then. Returns the record as stored."""
        ...

    async def get(self, session_id: UUID) -> UserSession | None: ...

    async def active(self, user_id: UUID, *, now: datetime) -> Sequence[UserSession]:
        """The account's sessions with a live refresh token, most recently used first."""
        ...

    async def live_sessions(self, user_id: UUID, *, now: datetime) -> set[UUID]:
        """The ids of the account's sessions (families) holding a live refresh token,
        recorded here or not (begun before sessions were recorded)."""
        ...

    async def devices_seen(self, user_id: UUID, *, excluding: UUID) -> set[tuple[str, str | None]]:
        """The (client, network) pairs of every recorded session of the account but
        ``excluding``, active or not."""
        ...

    async def forget_ended(self, *, before: datetime) -> int:
        """Forget sessions last used before ``before`` that have no refresh token left
        (purged): how many."""
        ...


class ClientNamer(Protocol):
    """Names the kind of client a user agent is: "Firefox on Linux", "curl"."""

    def name(self, user_agent: str | None) -> str: ...
