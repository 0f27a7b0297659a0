"""Calendar feeds (ADR 0023): a secret subscription URL of one's appointments.

A patient or a doctor creates a feed and gets its token once (only its SHA-256 is
kept, like the service clients' secrets: 256 random bits need no slow hash). Anyone
holding the token reads the feed, without signing in: calendar apps cannot sign in.
So the token is the credential: it can be revoked, it stops working when its owner's
account is deactivated, and its reads are rate-limited per feed.

What the feed holds is the owner's appointments as the owner may see them now
(``privacy.is_party``), within ``calendar_feeds.FeedWindow`` and the rules of
``calendar_feeds.in_feed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hduce.application.ports import (
    AppointmentQuery,
    CalendarFeed,
    CalendarFeedStore,
    Clock,
    PageRequest,
    RateLimiter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from hduce.application.use_case import UseCase
from hduce.domain.appointments import Appointment
from hduce.domain.calendar_feeds import FEED_ROLES, MAX_ACTIVE_FEEDS, FeedWindow, in_feed
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.errors import (
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.privacy import is_party

MAX_LABEL_LENGTH = 100
#: Longer than any token we hand out: not one of ours (no hashing of huge inputs).
MAX_TOKEN_LENGTH = 128
#: The most appointments one feed document carries (a full year of a busy agenda).
MAX_EVENTS = 5000
_BATCH = 200


@dataclass(frozen=True, slots=True)
class FeedRateRule:
    """Reads of one feed allowed per window (HDUCE_CALENDAR_FEED_RATE_LIMIT per hour)."""

    limit: int
    window_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class CreatedFeed:
    """A new feed and its token: the only time the token is ever shown."""

    feed: CalendarFeed
    token: str


@dataclass(frozen=True, slots=True)
class FeedEntry:
    appointment: Appointment
    #: Names as the owner may see them; None when the account no longer exists.
    patient_name: str | None
    doctor_name: str | None


@dataclass(frozen=True, slots=True)
class FeedDocument:
    owner_role: Role
    owner_name: str
    entries: list[FeedEntry]
    generated_at: datetime


def _owner(actor: Actor, what: str) -> UUID:
    if actor.role not in FEED_ROLES or actor.user_id is None:
        raise PermissionDenied(f"only patients and doctors {what}: feeds are of one's own calendar")
    return actor.user_id


class CreateCalendarFeed(UseCase):
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, store: CalendarFeedStore
    ) -> None:
        super().__init__(uow_factory, clock)
        self._store = store

    async def __call__(self, actor: Actor, label: str) -> CreatedFeed:
        owner_id = _owner(actor, "create calendar feeds")
        label = label.strip()
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidInput(f"at most {MAX_LABEL_LENGTH} characters", field="label")
        token = new_opaque_token()
        feed = CalendarFeed(
            id=uuid7(),
            owner_id=owner_id,
            label=label or "My appointments",
            token_hash=hash_opaque_token(token),
            created_at=self._clock.now(),
        )
        if not await self._store.add(feed, max_active=MAX_ACTIVE_FEEDS):
            raise BusinessRuleViolation(
                f"at most {MAX_ACTIVE_FEEDS} active calendar feeds: revoke one first",
                rule="too-many-feeds",
            )
        async with self.change(actor) as (_, audit):
            await audit("calendar_feed.created", "calendar_feed", feed.id, at=feed.created_at)
        return CreatedFeed(feed, token)


class ListCalendarFeeds:
    def __init__(self, store: CalendarFeedStore) -> None:
        self._store = store

    async def __call__(self, actor: Actor) -> list[CalendarFeed]:
        return await self._store.list_for(_owner(actor, "have calendar feeds"))


class RevokeCalendarFeed(UseCase):
    """The feed's URL answers 404 from now on."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, store: CalendarFeedStore
    ) -> None:
        super().__init__(uow_factory, clock)
        self._store = store

    async def __call__(self, actor: Actor, feed_id: UUID) -> CalendarFeed:
        owner_id = _owner(actor, "have calendar feeds")
        now = self._clock.now()
        feed = await self._store.revoke(feed_id, owner_id=owner_id, now=now)
        if feed is None:  # someone else's feed is missing, like an unknown one
            raise NotFound("calendar feed", feed_id)
        async with self.change(actor) as (_, audit):
            await audit("calendar_feed.revoked", "calendar_feed", feed_id, at=now)
        return feed


class ReadCalendarFeed:
    """Token -> the owner's appointments for the feed. ``NotFound`` alike for an
    unknown token, a revoked feed and a deactivated owner; ``RateLimited`` past the
    feed's rule."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        store: CalendarFeedStore,
        limiter: RateLimiter,
        rule: FeedRateRule,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._store = store
        self._limiter = limiter
        self._rule = rule

    async def __call__(self, token: str) -> FeedDocument:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise NotFound("calendar feed", "token")
        feed = await self._store.by_token_hash(hash_opaque_token(token))
        if feed is None or not feed.is_active:
            raise NotFound("calendar feed", "token")
        decision = await self._limiter.hit(
            f"calendar-feed:{feed.id}",
            limit=self._rule.limit,
            window_seconds=self._rule.window_seconds,
        )
        if not decision.allowed:
            raise RateLimited(max(1, decision.retry_after_seconds))
        now = self._clock.now()
        async with self._uow_factory() as uow:
            owner = await uow.users.get(feed.owner_id)
            if owner is None or not owner.is_active or owner.role not in FEED_ROLES:
                raise NotFound("calendar feed", "token")
            actor = Actor(owner.role, owner.id)
            appointments = [
                appointment
                for appointment in await _in_window(uow, actor, FeedWindow.around(now))
                if in_feed(
                    appointment.status,
                    starts_at=appointment.starts_at,
                    updated_at=appointment.updated_at,
                    now=now,
                )
                and is_party(
                    actor, patient_id=appointment.patient_id, doctor_id=appointment.doctor_id
                )
            ]
            ids = {a.patient_id for a in appointments} | {a.doctor_id for a in appointments}
            users = await uow.users.get_many(sorted(ids))
        names = {user_id: user.full_name for user_id, user in users.items()}
        entries = [
            FeedEntry(a, names.get(a.patient_id), names.get(a.doctor_id)) for a in appointments
        ]
        return FeedDocument(owner.role, owner.full_name, entries, now)


async def _in_window(uow: UnitOfWork, actor: Actor, window: FeedWindow) -> list[Appointment]:
    patient = actor.role is Role.PATIENT
    found: list[Appointment] = []
    while len(found) < MAX_EVENTS:
        page = await uow.appointments.list(
            AppointmentQuery(
                patient_id=actor.user_id if patient else None,
                doctor_id=None if patient else actor.user_id,
                starts_from=window.start,
                starts_before=window.end,
                page=PageRequest(limit=_BATCH, offset=len(found)),
            )
        )
        found.extend(page.items)
        if len(page.items) < _BATCH:
            break
    return found[:MAX_EVENTS]
