"""What the use cases report for monitoring (``hduce.bootstrap.metrics``): the
application's metrics ports, and the sign-in use cases counted by outcome.

Sign-ins are counted around the use cases (subclasses provided in their place, so
the identity feature stays unaware of Prometheus): a use case that returns is a
success, one that refuses (a domain error: wrong password, rate limit, revoked
token...) a failure. An outage (database or Redis down) is neither.
"""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.identity.devices import SessionRecorder
from hduce.application.identity.google import CompleteGoogleSignIn, OidcCallback
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.identity.sessions import Login, LoginCommand, RefreshTokens, TokenPair
from hduce.application.ports import (
    AccessTokenIssuer,
    AppointmentMetrics,
    Clock,
    RateLimiter,
    RefreshTokenStore,
    ReminderMetrics,
    TokenDenylist,
    UnitOfWorkFactory,
)
from hduce.bootstrap.metrics import PrometheusApplicationMetrics, record_login
from hduce.domain.errors import DomainError
from hduce.domain.sessions import SignInClient


class MeteredLogin(Login):
    async def __call__(self, command: LoginCommand) -> TokenPair:
        try:
            pair = await super().__call__(command)
        except DomainError:
            record_login("password", success=False)
            raise
        record_login("password", success=True)
        return pair


class MeteredRefreshTokens(RefreshTokens):
    async def __call__(self, refresh_token: str, client: SignInClient | None = None) -> TokenPair:
        try:
            pair = await super().__call__(refresh_token, client)
        except DomainError:
            record_login("refresh", success=False)
            raise
        record_login("refresh", success=True)
        return pair


class MeteredGoogleSignIn(CompleteGoogleSignIn):
    async def __call__(self, callback: OidcCallback) -> TokenPair:
        try:
            pair = await super().__call__(callback)
        except DomainError:
            record_login("google", success=False)
            raise
        record_login("google", success=True)
        return pair


_APPLICATION_METRICS = PrometheusApplicationMetrics()


class MetricsProvider(Provider):
    """After the identity provider: its sign-in use cases are replaced by counted ones.
    ``google_sign_in``: Google is configured (its use case exists)."""

    scope = Scope.APP

    def __init__(self, *, google_sign_in: bool = False) -> None:
        super().__init__()
        if google_sign_in:
            self.provide(MeteredGoogleSignIn, provides=CompleteGoogleSignIn, override=True)

    @provide
    def appointment_metrics(self) -> AppointmentMetrics:
        return _APPLICATION_METRICS

    @provide
    def reminder_metrics(self) -> ReminderMetrics:
        return _APPLICATION_METRICS

    login = provide(MeteredLogin, provides=Login, override=True)

    @provide(override=True)
    def refresh(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        issuer: AccessTokenIssuer,
        store: RefreshTokenStore,
        denylist: TokenDenylist,
        limiter: RateLimiter,
        policy: IdentityPolicy,
        recorder: SessionRecorder,
    ) -> RefreshTokens:
        # The same arguments as the identity provider's factory (its recorder is optional
        # in the constructor, so it is passed by hand rather than resolved by type).
        return MeteredRefreshTokens(
            uow_factory, clock, issuer, store, denylist, limiter, policy, recorder
        )
