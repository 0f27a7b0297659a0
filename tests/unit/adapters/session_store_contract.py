"""The ``SessionStore`` port's contract, run on every implementation: in memory
(tests/unit/adapters/test_memory_sessions.py) and in SQL on PostgreSQL and SQLite
(tests/integration/identity/test_sql_sessions.py).

Fixtures an implementation's test module provides: ``sessions`` (the store),
``refresh_tokens`` (the refresh-token store it reads liveness from) and ``new_user``
(``async () -> UUID``: an account the rows may reference)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from hduce.application.ports import RefreshTokenRecord, RefreshTokenStore, SessionStore
from hduce.domain.errors import AlreadyExists
from hduce.domain.ids import uuid7
from hduce.domain.sessions import UserSession

NewUser = Callable[[], Awaitable[UUID]]
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def session_of(
    user_id: UUID,
    at: datetime = NOW,
    *,
    client: str = "Firefox on Linux",
    network: str | None = "203.0.113.0/24",
) -> UserSession:
    return UserSession(
        id=uuid7(),
        user_id=user_id,
        client=client,
        network=network,
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        created_at=at,
        last_used_at=at,
    )


async def token_for(
    refresh_tokens: RefreshTokenStore,
    session: UserSession,
    *,
    at: datetime = NOW,
    ttl: timedelta = 30 * DAY,
) -> str:
    """A live refresh token in the session's family; its hash."""
    token_hash = f"hash-{uuid7().hex}"
    await refresh_tokens.issue(
        RefreshTokenRecord(
            token_hash=token_hash,
            user_id=session.user_id,
            family_id=session.id,
            issued_at=at,
            expires_at=at + ttl,
        )
    )
    return token_hash


class SessionStoreContract:
    async def test_add_and_get(self, sessions: SessionStore, new_user: NewUser) -> None:
        session = session_of(await new_user())
        await sessions.add(session)
        assert await sessions.get(session.id) == session
        assert await sessions.get(uuid7()) is None
        with pytest.raises(AlreadyExists):
            await sessions.add(session)

    async def test_active_means_a_live_refresh_token_in_the_family(
        self, sessions: SessionStore, refresh_tokens: RefreshTokenStore, new_user: NewUser
    ) -> None:
        user, other = await new_user(), await new_user()
        rotated, revoked, expired, unlisted = (session_of(user, NOW + i * DAY) for i in range(4))
        theirs = session_of(other)
        for session in (rotated, revoked, expired, theirs):
            await sessions.add(session)
        first = await token_for(refresh_tokens, rotated)
        later = NOW + 4 * DAY
        # A rotated token's successor keeps the family live.
        await refresh_tokens.rotate(
            first, new_token_hash=f"hash-{uuid7().hex}", now=later, expires_at=later + 30 * DAY
        )
        await token_for(refresh_tokens, revoked)
        await refresh_tokens.revoke_family(revoked.id, now=later)
        await token_for(refresh_tokens, expired, ttl=timedelta(hours=1))
        await token_for(refresh_tokens, unlisted)  # live, but never recorded
        await token_for(refresh_tokens, theirs)

        assert [s.id for s in await sessions.active(user, now=later)] == [rotated.id]
        assert await sessions.live_sessions(user, now=later) == {rotated.id, unlisted.id}
        assert [s.id for s in await sessions.active(other, now=later)] == [theirs.id]

    async def test_active_lists_the_most_recently_used_first(
        self, sessions: SessionStore, refresh_tokens: RefreshTokenStore, new_user: NewUser
    ) -> None:
        user = await new_user()
        old, new = session_of(user, NOW), session_of(user, NOW + DAY)
        for session in (old, new):
            await sessions.add(session)
            await token_for(refresh_tokens, session)
        assert [s.id for s in await sessions.active(user, now=NOW + DAY)] == [new.id, old.id]
        touched = await sessions.touch(old, now=NOW + 2 * DAY, network="198.51.100.0/24")
        assert touched.last_used_at == NOW + 2 * DAY and touched.network == "198.51.100.0/24"
        assert touched.created_at == NOW and touched.client == old.client
        assert [s.id for s in await sessions.active(user, now=NOW + 2 * DAY)] == [old.id, new.id]

    async def test_touching_a_session_never_recorded_records_it(
        self, sessions: SessionStore, new_user: NewUser
    ) -> None:
        begun_before = session_of(await new_user(), NOW)
        touched = await sessions.touch(begun_before, now=NOW + DAY, network=None)
        assert touched == UserSession(
            id=begun_before.id,
            user_id=begun_before.user_id,
            client=begun_before.client,
            network=None,
            user_agent=begun_before.user_agent,
            created_at=NOW,
            last_used_at=NOW + DAY,
        )
        assert await sessions.get(begun_before.id) == touched

    async def test_devices_seen_are_every_other_session_ended_or_not(
        self, sessions: SessionStore, new_user: NewUser
    ) -> None:
        user, other = await new_user(), await new_user()
        laptop = session_of(user)
        phone = session_of(user, client="Mobile Safari on iOS", network="2001:db8:85a3::/48")
        again = session_of(user)  # the laptop again: one device
        for session in (laptop, phone, again, session_of(other, client="curl")):
            await sessions.add(session)
        assert await sessions.devices_seen(user, excluding=phone.id) == {
            ("Firefox on Linux", "203.0.113.0/24")
        }
        assert await sessions.devices_seen(user, excluding=uuid7()) == {
            ("Firefox on Linux", "203.0.113.0/24"),
            ("Mobile Safari on iOS", "2001:db8:85a3::/48"),
        }
        assert await sessions.devices_seen(await new_user(), excluding=uuid7()) == set()

    async def test_forget_ended_keeps_sessions_with_tokens_and_recent_ones(
        self, sessions: SessionStore, refresh_tokens: RefreshTokenStore, new_user: NewUser
    ) -> None:
        user = await new_user()
        old_ended, old_with_token, recent = (
            session_of(user, NOW - 100 * DAY),
            session_of(user, NOW - 100 * DAY),
            session_of(user, NOW - DAY),
        )
        for session in (old_ended, old_with_token, recent):
            await sessions.add(session)
        # Expired long ago but not purged yet: the family is still remembered.
        await token_for(refresh_tokens, old_with_token, at=NOW - 100 * DAY, ttl=DAY)
        assert await sessions.forget_ended(before=NOW - 90 * DAY) == 1
        assert await sessions.get(old_ended.id) is None
        assert await sessions.get(old_with_token.id) is not None
        assert await sessions.get(recent.id) is not None
