"""Calendar feeds (ADR 0023): the SQL token store and the use cases that create, list,
revoke and read feeds. Needs the SQL engine, the clock and the ``RateLimiter``
(``SharedStateProvider``: Redis when configured, so the limit holds across workers)."""

from __future__ import annotations

from dishka import Provider, Scope, provide
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql.calendar_feeds import SqlCalendarFeedStore
from hduce.application.appointments.feeds import (
    CreateCalendarFeed,
    FeedRateRule,
    ListCalendarFeeds,
    ReadCalendarFeed,
    RevokeCalendarFeed,
)
from hduce.application.ports import CalendarFeedStore
from hduce.bootstrap.settings import Settings


class CalendarFeedsProvider(Provider):
    scope = Scope.APP

    @provide
    def store(self, engine: AsyncEngine) -> CalendarFeedStore:
        return SqlCalendarFeedStore(engine)

    @provide
    def rate_rule(self, settings: Settings) -> FeedRateRule:
        return FeedRateRule(limit=settings.calendar_feeds.rate_limit)

    create = provide(CreateCalendarFeed)
    list_feeds = provide(ListCalendarFeeds)
    revoke = provide(RevokeCalendarFeed)
    read = provide(ReadCalendarFeed)
