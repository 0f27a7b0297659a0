"""The composition root: which adapter serves which port, decided here from the settings.

Each provider is one role of the infrastructure or one feature of the application
(``hduce.bootstrap.providers``); this module only chooses among them. The HTTP app,
the worker and the CLI commands get their container from ``build_container``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dishka import AsyncContainer, Provider, make_async_container

from hduce.application.identity.policy import IdentityPolicy
from hduce.bootstrap.providers.admin import AdminProvider
from hduce.bootstrap.providers.appointments import AppointmentsProvider
from hduce.bootstrap.providers.availability import AvailabilityProvider
from hduce.bootstrap.providers.calendar_feeds import CalendarFeedsProvider
from hduce.bootstrap.providers.clinic import ClinicProvider
from hduce.bootstrap.providers.config import ConfigProvider
from hduce.bootstrap.providers.delivery import DeliveryProvider
from hduce.bootstrap.providers.demo import DemoProvider
from hduce.bootstrap.providers.devices import DevicesProvider
from hduce.bootstrap.providers.event_documentation import EventDocumentationProvider
from hduce.bootstrap.providers.events import EventBusProvider
from hduce.bootstrap.providers.identity import IdentityProvider
from hduce.bootstrap.providers.messaging import MessagingProvider
from hduce.bootstrap.providers.metrics import MetricsProvider
from hduce.bootstrap.providers.notifications import NotificationsProvider
from hduce.bootstrap.providers.persistence import SqlPersistenceProvider
from hduce.bootstrap.providers.readiness import ReadinessProvider
from hduce.bootstrap.providers.realtime import InMemoryRealtimeProvider
from hduce.bootstrap.providers.security import SecurityProvider
from hduce.bootstrap.providers.service_tokens import ServiceTokensProvider
from hduce.bootstrap.providers.shared_state import InMemorySharedStateProvider
from hduce.bootstrap.providers.two_factor import TwoFactorProvider
from hduce.bootstrap.providers.waitlist import WaitlistProvider
from hduce.bootstrap.settings import Settings

if TYPE_CHECKING:  # argon2-cffi loads at the first password hashed (SecurityProvider)
    from hduce.adapters.security.passwords import Argon2Parameters


def providers(
    settings: Settings,
    *,
    identity_policy: IdentityPolicy | None = None,
    hasher_parameters: Argon2Parameters | None = None,
) -> list[Provider]:
    """The production set for these settings.

    ``identity_policy`` and ``hasher_parameters`` default to what the settings ask for;
    tests pass loose rate limits and cheap Argon2.
    """
    redis = settings.redis is not None
    google = settings.google is not None
    broker = settings.broker is not None
    database_keys = settings.auth.jwt_keys_in_database
    return [
        ConfigProvider(),
        SqlPersistenceProvider(),
        *(_redis_providers() if redis else [InMemorySharedStateProvider()]),
        EventBusProvider(),
        *([] if redis else [InMemoryRealtimeProvider()]),
        # After the bus: with a broker, its EventPublisher is the one the relay gets.
        _broker_provider() if broker else EventDocumentationProvider(),
        ReadinessProvider(redis=redis, broker=broker),
        DeliveryProvider(),
        SecurityProvider(
            google_sign_in=google,
            hasher_parameters=hasher_parameters,
            database_keys=database_keys,
        ),
        IdentityProvider(google_sign_in=google, policy=identity_policy),
        ServiceTokensProvider(database_keys=database_keys),
        TwoFactorProvider(),
        ClinicProvider(),
        AvailabilityProvider(),
        AppointmentsProvider(),
        CalendarFeedsProvider(),
        NotificationsProvider(),
        WaitlistProvider(),
        AdminProvider(),
        DevicesProvider(),
        MessagingProvider(),
        DemoProvider(),
        # Last: replaces the sign-in use cases by counted ones.
        MetricsProvider(google_sign_in=google),
    ]


def _redis_providers() -> list[Provider]:
    # Imported only with HDUCE_REDIS_URL: redis-py is about 20 MB of modules (and, with
    # the tracing extra installed, it would load the OpenTelemetry metrics SDK: the
    # adapters' package imports redis-py first, without it).
    import hduce.adapters.redis  # noqa: F401
    from hduce.bootstrap.providers.redis_state import (
        RedisRealtimeProvider,
        RedisSharedStateProvider,
    )

    return [RedisSharedStateProvider(), RedisRealtimeProvider()]


def _broker_provider() -> Provider:
    # Imported only with a broker: FastStream and the four broker clients are ~450
    # modules and tens of MB that a process without HDUCE_BROKER_URL never uses.
    from hduce.bootstrap.providers.broker import BrokerProvider

    return BrokerProvider()


def _litestar_providers(http: bool) -> list[Provider]:
    if not http:
        return []
    from dishka.integrations.litestar import LitestarProvider

    return [LitestarProvider()]


def _faststream_providers(settings: Settings) -> list[Provider]:
    """The message and FastStream's context of each consumed message (dishka-faststream);
    only consumers on a broker ask for them."""
    if settings.broker is None:
        return []
    from dishka_faststream import FastStreamProvider

    return [FastStreamProvider()]


def build_container(
    settings: Settings,
    *,
    extra: Sequence[Provider] = (),
    http: bool = False,
    identity_policy: IdentityPolicy | None = None,
    hasher_parameters: Argon2Parameters | None = None,
) -> AsyncContainer:
    """The container of ``providers(settings, ...)``; ``extra`` providers come last and
    override what the others provide (tests). ``http``: the container of an HTTP app,
    with dishka's Litestar provider (the request in the request scope); the worker and
    the commands do without it, and so without Litestar."""
    chosen = providers(
        settings, identity_policy=identity_policy, hasher_parameters=hasher_parameters
    )
    return make_async_container(
        *_litestar_providers(http),
        *_faststream_providers(settings),
        *chosen,
        *extra,
        context={Settings: settings},
    )
