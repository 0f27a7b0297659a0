"""Demo data (``hduce.application.demo``): ``hduce seed-demo``'s use case."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.demo import SeedDemo
from hduce.application.ports import Clock, IdGenerator, PasswordHasher, UnitOfWorkFactory
from hduce.domain.scheduling import SchedulingPolicy


class DemoProvider(Provider):
    scope = Scope.APP

    @provide
    def seed_demo(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        hasher: PasswordHasher,
        policy: SchedulingPolicy,
    ) -> SeedDemo:
        return SeedDemo(uow_factory, clock, ids, hasher, policy)
