"""Identity policy: lifetimes, rate limits, refusal texts and the keys they use."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal
from uuid import UUID

from hduce.application.ports import (
    Clock,
    PasswordHasher,
    RateLimiter,
    UnitOfWorkFactory,
)
from hduce.domain.audit import AuditEntry
from hduce.domain.credentials import (
    check_password_policy,
    normalise_password,
)
from hduce.domain.errors import (
    InvalidInput,
    RateLimited,
)
from hduce.domain.identity import Actor, User, normalise_email

# Security events share one logger name, so operators can route them apart.
log = logging.getLogger("hduce.security")

#: The one refusal of a failed login, whatever failed (unknown email, wrong password).
INVALID_CREDENTIALS: Final = "invalid email or password"
INVALID_REFRESH_TOKEN: Final = "the refresh token is invalid or expired; sign in again"  # noqa: S105
REFRESH_TOKEN_REUSED: Final = (
    "this refresh token was used already, so the session was closed; sign in again"  # noqa: S105
)
ACCOUNT_DISABLED: Final = "this account is deactivated"
TOKEN_REVOKED: Final = "this token was revoked; sign in again"  # noqa: S105
#: Refresh tokens are 43 characters; anything much longer is not one of ours.
MAX_OPAQUE_TOKEN_LENGTH: Final = 256

RegistrationSource = Literal["password", "google", "admin"]


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class RateRule:
    limit: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Lifetimes, password list and rate limits of the identity use cases."""

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    common_passwords: frozenset[str] = frozenset()
    #: Login attempts of one client (address), whatever their outcome.
    login_per_ip: RateRule = RateRule(30, 300)
    #: Failed logins of one account from one client; past it that client waits.
    login_per_account_client: RateRule = RateRule(5, 900)
    #: Failed logins of one account from anywhere; past it the account cools down
    #: (``LoginThrottle``): a soft brake, not a lockout.
    login_per_account: RateRule = RateRule(10, 900)
    register_per_ip: RateRule = RateRule(10, 3600)
    register_per_account: RateRule = RateRule(5, 3600)
    refresh_per_family: RateRule = RateRule(30, 60)
    google_per_ip: RateRule = RateRule(30, 300)
    #: How long a Google sign-in may take between the redirect and the callback.
    oidc_state_ttl: timedelta = timedelta(minutes=10)
    default_timezone: str = "UTC"
    #: Emailed links (``email_links``): where they point, how long they work, and how
    #: often they may be asked for (per address, known or not; per client; per account).
    public_url: str = "http://127.0.0.1:8000"
    password_reset_ttl: timedelta = timedelta(minutes=30)
    email_verification_ttl: timedelta = timedelta(hours=48)
    #: A walk-in patient's "set your password" link: days, not minutes (the person
    #: reads it at home, and it only opens an account that has no password yet).
    password_setup_ttl: timedelta = timedelta(days=7)
    password_reset_per_account: RateRule = RateRule(5, 3600)
    password_reset_per_ip: RateRule = RateRule(20, 3600)
    verification_resend_per_user: RateRule = RateRule(5, 3600)
    #: Links an admin re-sends to one walk-in account.
    password_setup_resend_per_user: RateRule = RateRule(5, 3600)


def jti_denylist_key(jti: str) -> str:
    return f"jti:{jti}"


def session_denylist_key(session_id: UUID) -> str:
    return f"sid:{session_id}"


# ------------------------------------------------------------------ shared services


async def enforce_rate(limiter: RateLimiter, key: str, rule: RateRule) -> None:
    decision = await limiter.hit(key, limit=rule.limit, window_seconds=rule.window_seconds)
    if not decision.allowed:
        raise RateLimited(max(1, decision.retry_after_seconds))


ThrottleScope = Literal["client", "account_client", "account"]


class LoginThrottle:
    """Login rate limits that a stranger cannot turn into a lockout of the owner.

    * per client (``login_per_ip``): every attempt counts, before the password;
    * per account and client (``login_per_account_client``): failed attempts; past
      the limit, that client waits (HTTP 429 with ``Retry-After``);
    * per account (``login_per_account``): failed attempts from anywhere. Past the
      limit the account cools down: a client that failed on it waits until the
      cool-down or its own failures are over; a client without failures still has
      its password checked. So 50 wrong passwords from elsewhere do not keep the
      owner out of their own device, while every guessing client gets one try less.

    Only failures count against an account, so looking the password up is never
    skipped for a client that did nothing wrong. A limit reached is audited
    (``auth.login_throttled``) and logged once per fill, with the client address and
    the account, never the password. Unknown emails are throttled exactly like known
    ones: a 429 tells nothing about whether an address is registered.

    Checking a failure count and recording a failure are two steps, so concurrent
    attempts of one client may overshoot a failure limit; the per-client attempt
    limit, counted atomically before anything else, bounds that.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        policy: IdentityPolicy,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
    ) -> None:
        self._limiter = limiter
        self._policy = policy
        self._uow_factory = uow_factory
        self._clock = clock

    async def admit(self, email: str, client_ip: str | None) -> None:
        """Raise ``RateLimited`` if this client may not try this account now."""
        client, account = client_ip or "-", account_rate_key(email)
        rule = self._policy.login_per_ip
        attempt = await self._limiter.hit(
            f"login:ip:{client}", limit=rule.limit, window_seconds=rule.window_seconds
        )
        if attempt.allowed and attempt.remaining == 0:
            await self._engaged("client", rule, client, account, None)
        if not attempt.allowed:
            raise RateLimited(attempt.retry_after_seconds)
        rule = self._policy.login_per_account_client
        pair_key = _pair_key(account, client)
        pair = await self._limiter.peek(
            pair_key, limit=rule.limit, window_seconds=rule.window_seconds
        )
        if not pair.allowed:
            raise RateLimited(pair.retry_after_seconds)
        brake = self._policy.login_per_account
        cooling = await self._limiter.peek(
            _account_key(account), limit=brake.limit, window_seconds=brake.window_seconds
        )
        if cooling.allowed:
            return
        # Cooling down: only clients without a failure on this account may try.
        clean = await self._limiter.peek(pair_key, limit=1, window_seconds=rule.window_seconds)
        if not clean.allowed:
            raise RateLimited(min(cooling.retry_after_seconds, clean.retry_after_seconds))

    async def failed(self, email: str, client_ip: str | None, user: User | None) -> None:
        """Count a failed attempt (``user``: the account, when the email has one)."""
        client, account = client_ip or "-", account_rate_key(email)
        counters: tuple[tuple[ThrottleScope, str, RateRule], ...] = (
            ("account_client", _pair_key(account, client), self._policy.login_per_account_client),
            ("account", _account_key(account), self._policy.login_per_account),
        )
        for scope, key, rule in counters:
            counted = await self._limiter.hit(
                key, limit=rule.limit, window_seconds=rule.window_seconds
            )
            if counted.allowed and counted.remaining == 0:
                await self._engaged(scope, rule, client, account, user)

    async def succeeded(self, email: str, client_ip: str | None) -> None:
        """The client proved the password: its earlier failures on the account are forgiven."""
        rule = self._policy.login_per_account_client
        await self._limiter.forget(
            _pair_key(account_rate_key(email), client_ip or "-"),
            window_seconds=rule.window_seconds,
        )

    async def _engaged(
        self, scope: ThrottleScope, rule: RateRule, client: str, account: str, user: User | None
    ) -> None:
        target_type, target_id = (
            ("client", client)
            if scope == "client"
            else ("user", str(user.id))
            if user is not None
            else ("account", account)
        )
        now = self._clock.now()
        entry = AuditEntry.of(
            Actor.system(),
            now,
            "auth.login_throttled",
            target_type,
            target_id,
            scope=scope,
            client=client,
            account=account,
            limit=rule.limit,
            window_seconds=rule.window_seconds,
        )
        async with self._uow_factory() as uow:
            await uow.audit.add(entry)
            await uow.commit()
        log.warning(
            "auth.login_throttled: %s limit reached (%d in %d s); %s %s, client %s, account key %s",
            scope,
            rule.limit,
            rule.window_seconds,
            target_type,
            target_id,
            client,
            account,
        )


def _pair_key(account: str, client: str) -> str:
    return f"login:failed:{account}:{client}"


def _account_key(account: str) -> str:
    return f"login:failed:{account}"


def account_rate_key(email: str) -> str:
    """Rate-limit key of an email (known or not), without writing the address itself.
    Every spelling of one address (``normalise_email``) shares the key."""
    try:
        spelling = normalise_email(email)
    except InvalidInput:
        spelling = email.strip().casefold()
    return hashlib.sha256(spelling.encode("utf-8")).hexdigest()[:32]


async def new_password_hash(
    hasher: PasswordHasher, policy: IdentityPolicy, password: str, email: str
) -> str:
    password = normalise_password(password)
    check_password_policy(password, email, policy.common_passwords)
    return await hasher.hash(password)
