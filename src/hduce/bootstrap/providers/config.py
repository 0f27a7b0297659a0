"""Configuration and system services: the settings, the clock, ids, the scheduling policy."""

from __future__ import annotations

from dishka import Provider, Scope, from_context, provide

from hduce.adapters.clock import SystemClock, UuidV7Generator
from hduce.application.ports import Clock, IdGenerator
from hduce.bootstrap.settings import Settings
from hduce.domain.scheduling import SchedulingPolicy


class ConfigProvider(Provider):
    """``Settings`` comes from the container's context (``build_container`` puts it there)."""

    scope = Scope.APP
    settings = from_context(provides=Settings, scope=Scope.APP)

    @provide
    def scheduling_policy(self, settings: Settings) -> SchedulingPolicy:
        return SchedulingPolicy(
            require_verified_email=settings.account_links.require_verified_email_to_book
        )

    clock = provide(SystemClock, provides=Clock)
    ids = provide(UuidV7Generator, provides=IdGenerator)
