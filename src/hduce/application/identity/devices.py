"""Sessions and devices of an account: what each sign-in was made with, listing the
active ones, ending them, and telling the owner of a sign-in from a new device.

A session is a refresh-token family (ADR 0004). ``SessionRecorder`` records, when a
session starts or is refreshed, the kind of client (from the user agent) and the
network it came from (a /24 or /48 prefix: ``hduce.domain.sessions``). A sign-in
whose (client, network) none of the account's earlier sessions had emits
``NewDeviceSignedIn`` through the outbox; the notification policy tells the owner in
the app and by email. The first recorded sign-in of an account tells nobody: every
device is new then.

Ending a session revokes its refresh tokens (its refresh token is refused at once)
and denylists the session id until its access tokens expire, which is how logout
ends one (``Authenticate`` reads the denylist on every request).
See docs/decisions/0014-sessions-and-devices.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hduce.application.access import ensure_self_or_admin
from hduce.application.identity.policy import IdentityPolicy, session_denylist_key
from hduce.application.identity.security_events import log as security_log
from hduce.application.ports import (
    ClientNamer,
    Clock,
    RefreshTokenStore,
    SessionStore,
    TokenDenylist,
    UnitOfWorkFactory,
)
from hduce.application.use_case import UseCase
from hduce.domain.audit import AuditEntry
from hduce.domain.errors import NotFound, PermissionDenied
from hduce.domain.events import DomainEvent, NewDeviceSignedIn
from hduce.domain.identity import Actor, User
from hduce.domain.sessions import SignInClient, UserSession, clip_user_agent, coarse_network


class SessionRecorder:
    """Records sessions as they start and are used; tells of new devices."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, store: SessionStore, namer: ClientNamer
    ) -> None:
        self._uow_factory = uow_factory
        self._store = store
        self._namer = namer

    def describe(
        self, user_id: UUID, session_id: UUID, now: datetime, client: SignInClient
    ) -> UserSession:
        return UserSession(
            id=session_id,
            user_id=user_id,
            client=self._namer.name(client.user_agent),
            network=coarse_network(client.address),
            user_agent=clip_user_agent(client.user_agent),
            created_at=now,
            last_used_at=now,
        )

    async def started(
        self, user: User, session_id: UUID, now: datetime, client: SignInClient
    ) -> UserSession:
        """A sign-in began ``session_id``: record it; if it is the account's first
        session from this client and network (and not its first session at all), emit
        ``NewDeviceSignedIn`` and audit it."""
        session = self.describe(user.id, session_id, now, client)
        await self._store.add(session)
        seen = await self._store.devices_seen(user.id, excluding=session_id)
        if seen and (session.client, session.network) not in seen:
            await self._new_device(user, session, now)
        return session

    async def used(
        self, user_id: UUID, session_id: UUID, now: datetime, client: SignInClient
    ) -> UserSession:
        """A refresh used ``session_id``: its last use (and network) move to now."""
        session = self.describe(user_id, session_id, now, client)
        return await self._store.touch(session, now=now, network=session.network)

    async def _new_device(self, user: User, session: UserSession, now: datetime) -> None:
        event = DomainEvent(
            occurred_at=now,
            aggregate_id=user.id,
            aggregate_version=user.version,
            payload=NewDeviceSignedIn(
                user_id=user.id,
                session_id=session.id,
                client=session.client,
                network=session.network,
                signed_in_at=now,
            ),
        )
        async with self._uow_factory() as uow:
            uow.emit(event)
            await uow.audit.add(
                AuditEntry.of(
                    user.actor,
                    now,
                    "auth.new_device_signed_in",
                    "user",
                    user.id,
                    session_id=str(session.id),
                    client=session.client,
                    network=session.network or "-",
                )
            )
            await uow.commit()
        security_log.info(
            "auth.new_device_signed_in user=%s session=%s client=%r network=%s",
            user.id,
            session.id,
            session.client,
            session.network or "-",
        )


class SessionCloser:
    """Ends sessions: their refresh tokens revoked, their session ids denylisted until
    the access tokens issued to them expire (what logout does to one session)."""

    def __init__(
        self,
        store: RefreshTokenStore,
        sessions: SessionStore,
        denylist: TokenDenylist,
        policy: IdentityPolicy,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._denylist = denylist
        self._policy = policy

    async def close(self, session_ids: Iterable[UUID], now: datetime) -> int:
        count = 0
        for session_id in session_ids:
            await self._store.revoke_family(session_id, now=now)
            await self._denylist.deny(
                session_denylist_key(session_id), now + self._policy.access_token_ttl
            )
            count += 1
        return count

    async def close_all_of(self, user_id: UUID, now: datetime, *, keep: UUID | None) -> int:
        """End every live session of the account but ``keep``, recorded or not (a
        session begun before sessions were recorded is ended too)."""
        live = await self._sessions.live_sessions(user_id, now=now)
        return await self.close(sorted(live - {keep} if keep is not None else live), now)


# ------------------------------------------------------------------ listing and ending


@dataclass(frozen=True, slots=True)
class SessionList:
    """The account's active sessions, and which one the caller's token belongs to."""

    sessions: Sequence[UserSession]
    current: UUID | None


def _ensure_may_manage(actor: Actor, user_id: UUID) -> None:
    # A stranger's session ids must not be probed: the owner or an admin only.
    ensure_self_or_admin(actor, user_id, "see or end the sessions of an account")


class ListSessions:
    """The active sessions of ``user_id`` (the caller's own, or any for an admin)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, sessions: SessionStore
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._sessions = sessions

    async def __call__(
        self, actor: Actor, user_id: UUID, *, current: UUID | None = None
    ) -> SessionList:
        _ensure_may_manage(actor, user_id)
        if not actor.is_user(user_id):
            async with self._uow_factory() as uow:
                if await uow.users.get(user_id) is None:
                    raise NotFound("user", user_id)
        active = await self._sessions.active(user_id, now=self._clock.now())
        return SessionList(active, current if actor.is_user(user_id) else None)


class RevokeSession(UseCase):
    """End one active session of ``user_id`` (the caller's own, or any for an admin).
    Ending one's current session is allowed: it is a logout."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sessions: SessionStore,
        closer: SessionCloser,
    ) -> None:
        super().__init__(uow_factory, clock)
        self._sessions = sessions
        self._closer = closer

    async def __call__(self, actor: Actor, user_id: UUID, session_id: UUID) -> None:
        _ensure_may_manage(actor, user_id)
        now = self._clock.now()
        live = await self._sessions.live_sessions(user_id, now=now)
        if session_id not in live:
            # Unknown, ended, or someone else's: the same answer.
            raise NotFound("session", session_id)
        await self._closer.close([session_id], now)
        async with self.change(actor) as (_uow, audit):
            await audit("session.revoked", "user", user_id, at=now, session_id=str(session_id))
        security_log.info("session.revoked user=%s session=%s by %s", user_id, session_id, actor)


class RevokeOtherSessions(UseCase):
    """End every active session of ``user_id`` but ``keep`` (the caller's current one;
    None for an admin ending them all). Returns how many were ended."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, closer: SessionCloser) -> None:
        super().__init__(uow_factory, clock)
        self._closer = closer

    async def __call__(self, actor: Actor, user_id: UUID, *, keep: UUID | None) -> int:
        _ensure_may_manage(actor, user_id)
        if keep is not None and not actor.is_user(user_id):
            raise PermissionDenied("only the owner keeps a session of their own")
        now = self._clock.now()
        if not actor.is_user(user_id):
            async with self._uow_factory() as uow:
                if await uow.users.get(user_id) is None:
                    raise NotFound("user", user_id)
        ended = await self._closer.close_all_of(user_id, now, keep=keep)
        async with self.change(actor) as (_uow, audit):
            await audit("session.revoked_others", "user", user_id, at=now, count=ended)
        security_log.info("session.revoked_others user=%s count=%d by %s", user_id, ended, actor)
        return ended


class ForgetEndedSessions:
    """Housekeeping: forget sessions whose refresh tokens were purged and that were
    last used long ago (their client and network no longer count as a known device)."""

    def __init__(self, clock: Clock, sessions: SessionStore, policy: IdentityPolicy) -> None:
        self._clock = clock
        self._sessions = sessions
        self._policy = policy

    async def __call__(self) -> int:
        before = self._clock.now() - self._policy.refresh_token_ttl * 3
        return await self._sessions.forget_ended(before=before)
