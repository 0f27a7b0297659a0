"""Security events of sign-in and sessions: refused and throttled sign-ins, reuse of a
rotated refresh token. Each is an audit entry (actor: the system, since the caller is
not authenticated) and a WARNING line on the ``hduce.security`` logger.

Neither ever holds a password or a token. An address that matches no account appears
only as its ``account_rate_key`` hash: people type passwords into the email field, and
an admin who suspects an address can compute its hash.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hduce.application.identity.policy import account_rate_key
from hduce.application.ports import RateLimiter, UnitOfWorkFactory
from hduce.domain.audit import AuditEntry
from hduce.domain.identity import Actor, User

LOGIN_FAILED = "auth.login_failed"
LOGIN_THROTTLED = "auth.login_throttled"
REFRESH_REUSED = "auth.refresh_token_reused"

# A stable name, so operators can route security events apart from the rest.
log = logging.getLogger("hduce.security")


def account_target(user: User | None, email: str) -> tuple[str, str]:
    """(target_type, target_id): the account when there is one, else the address's hash."""
    return ("user", str(user.id)) if user is not None else ("email", account_rate_key(email))


async def record(
    uow_factory: UnitOfWorkFactory,
    at: datetime,
    action: str,
    target: tuple[str, str],
    **details: str,
) -> None:
    target_type, target_id = target
    async with uow_factory() as uow:
        await uow.audit.add(
            AuditEntry.of(Actor.system(), at, action, target_type, target_id, **details)
        )
        await uow.commit()
    shown = " ".join(f"{key}={value}" for key, value in sorted(details.items()))
    log.warning("%s %s=%s %s", action, target_type, target_id, shown)


async def first_in_window(limiter: RateLimiter, key: str, window_seconds: int) -> bool:
    """True once per ``key`` and window: a throttled caller may retry as fast as it likes,
    and each refused attempt must not cost a database write."""
    decision = await limiter.hit(f"audit:{key}", limit=1, window_seconds=window_seconds)
    return decision.allowed
