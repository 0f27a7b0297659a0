"""Identity policy: lifetimes, rate limits, refusal texts and the keys they use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal
from uuid import UUID

from hduce.application.ports import (
    PasswordHasher,
    RateLimiter,
)
from hduce.domain.credentials import (
    check_password_policy,
    normalise_password,
)
from hduce.domain.errors import (
    RateLimited,
)

#: The one refusal of a failed login, whatever failed (unknown email, wrong password).
INVALID_CREDENTIALS: Final = "invalid email or password"
INVALID_REFRESH_TOKEN: Final = "the refresh token is invalid or expired; sign in again"  # noqa: S105
REFRESH_TOKEN_REUSED: Final = (
    "this refresh token was used already, so the session was closed; sign in again"  # noqa: S105
)
ACCOUNT_DISABLED: Final = "this account is deactivated"
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
    login_per_ip: RateRule = RateRule(30, 300)
    login_per_account: RateRule = RateRule(10, 900)
    register_per_ip: RateRule = RateRule(10, 3600)
    register_per_account: RateRule = RateRule(5, 3600)
    refresh_per_family: RateRule = RateRule(30, 60)
    google_per_ip: RateRule = RateRule(30, 300)
    #: How long a Google sign-in may take between the redirect and the callback.
    oidc_state_ttl: timedelta = timedelta(minutes=10)
    default_timezone: str = "UTC"


def jti_denylist_key(jti: str) -> str:
    return f"jti:{jti}"


def session_denylist_key(session_id: UUID) -> str:
    return f"sid:{session_id}"


# ------------------------------------------------------------------ shared services


async def enforce_rate(limiter: RateLimiter, key: str, rule: RateRule) -> None:
    decision = await limiter.hit(key, limit=rule.limit, window_seconds=rule.window_seconds)
    if not decision.allowed:
        raise RateLimited(max(1, decision.retry_after_seconds))


def account_rate_key(email: str) -> str:
    """Rate-limit key of an email (known or not), without writing the address itself."""
    return hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()[:32]


async def new_password_hash(
    hasher: PasswordHasher, policy: IdentityPolicy, password: str, email: str
) -> str:
    password = normalise_password(password)
    check_password_policy(password, email, policy.common_passwords)
    return await hasher.hash(password)
