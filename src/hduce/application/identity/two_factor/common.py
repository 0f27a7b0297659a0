"""What enrolment and the sign-in challenge share: the policy, a proof and its check
(``SecondFactorCheck``), the tools of the use cases (``SecondFactorTools``, with the
base ``SecondFactorUseCase``), and the emails to the account's owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from hduce.application.identity import security_events as events
from hduce.application.identity.policy import RateRule
from hduce.application.ports import Cache, Clock, RateLimiter, UnitOfWorkFactory
from hduce.application.ports.second_factor import (
    OneTimePasswords,
    SecondFactorStore,
    SecretSealer,
    TotpEnrolment,
)
from hduce.domain.errors import InvalidInput, RateLimited
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, Notification
from hduce.domain.second_factor import (
    hash_recovery_code,
    is_fresh_step,
    normalise_recovery_code,
    normalise_totp_code,
)

FAILED: Final = "auth.second_factor_failed"
THROTTLED: Final = "auth.second_factor_throttled"

WRONG_CODE: Final = "this code is not right; check the time on your phone and try again"
REPLAYED_CODE: Final = "this code was used already; wait for the next one and enter it"
WRONG_RECOVERY_CODE: Final = "this recovery code is not right or was used already"
UNREADABLE: Final = (
    "your authenticator can no longer be checked (the server's key changed): sign in "
    "with a recovery code, then enrol your app again"
)


#: Frozen, so one instance may be every policy's default.
_FAILURES_PER_ACCOUNT: Final = RateRule(10, 900)
_ENROLMENTS_PER_ACCOUNT: Final = RateRule(10, 3600)


@dataclass(frozen=True, slots=True)
class SecondFactorPolicy:
    """What the settings decide (``require_admin``), and the limits of the feature."""

    #: ``HDUCE_REQUIRE_ADMIN_2FA``: admins' sessions need a second factor.
    require_admin: bool = False
    #: The name authenticator apps show next to the account.
    issuer: str = "HDUCE"
    challenge_ttl: timedelta = timedelta(minutes=5)
    #: Wrong codes one sign-in challenge survives.
    failures_per_challenge: int = 5
    #: Wrong codes of one account (any challenge, confirmation, removal) in a window.
    failures_per_account: RateRule = _FAILURES_PER_ACCOUNT
    #: Enrolments (new secrets) an account may start in a window.
    enrolments_per_account: RateRule = _ENROLMENTS_PER_ACCOUNT


@dataclass(frozen=True, slots=True)
class SecondFactorProof:
    """A code of the authenticator, or a recovery code (exactly one)."""

    code: str | None = None
    recovery_code: str | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    method: str  # "totp" | "recovery_code"
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SecondFactorTools:
    """What the two-factor use cases are built with (one instance, from the provider)."""

    store: SecondFactorStore
    otp: OneTimePasswords
    sealer: SecretSealer
    cache: Cache
    limiter: RateLimiter
    uow_factory: UnitOfWorkFactory
    clock: Clock
    policy: SecondFactorPolicy


class SecondFactorUseCase:
    """Base of the two-factor use cases: the shared tools, as attributes."""

    def __init__(self, tools: SecondFactorTools) -> None:
        self._store = tools.store
        self._otp = tools.otp
        self._sealer = tools.sealer
        self._cache = tools.cache
        self._limiter = tools.limiter
        self._uow_factory = tools.uow_factory
        self._clock = tools.clock
        self._policy = tools.policy


class SecondFactorCheck(SecondFactorUseCase):
    """Checks a proof against an account's authenticator, spending what it uses (the
    TOTP step, the recovery code), and counts failures against the account."""

    async def admit(self, user_id: UUID) -> None:
        """429 while the account has failed too many codes."""
        rule = self._policy.failures_per_account
        decision = await self._limiter.peek(
            _failures_key(user_id), limit=rule.limit, window_seconds=rule.window_seconds
        )
        if not decision.allowed:
            raise RateLimited(decision.retry_after_seconds)

    async def check(
        self, enrolment: TotpEnrolment, proof: SecondFactorProof, now: datetime
    ) -> Checked:
        if proof.recovery_code is not None:
            return await self._recovery(enrolment, proof.recovery_code, now)
        if proof.code is None or enrolment.secret is None:
            return Checked(False, "totp", "no-code", WRONG_CODE)
        try:
            secret = self._sealer.open(enrolment.secret, context=str(enrolment.user_id))
        except ValueError:  # sealed with another key (HDUCE_TOTP_ENCRYPTION_KEY changed)
            return Checked(False, "totp", "unreadable-secret", UNREADABLE)
        return await self._totp(enrolment.user_id, secret, proof.code, now, enrolment)

    async def _totp(
        self, user_id: UUID, secret: str, raw: str, now: datetime, enrolment: TotpEnrolment
    ) -> Checked:
        code = normalise_totp_code(raw)
        step = self._otp.matching_step(secret, code, now) if code is not None else None
        if step is None:
            return Checked(False, "totp", "wrong-code", WRONG_CODE)
        if not is_fresh_step(step, enrolment.last_used_step) or not await self._store.use_step(
            user_id, step
        ):
            return Checked(False, "totp", "replayed-code", REPLAYED_CODE)
        return Checked(True, "totp")

    async def _recovery(self, enrolment: TotpEnrolment, raw: str, now: datetime) -> Checked:
        if normalise_recovery_code(raw) is None or not await self._store.use_recovery_code(
            enrolment.user_id, hash_recovery_code(raw), now
        ):
            return Checked(False, "recovery_code", "wrong-recovery-code", WRONG_RECOVERY_CODE)
        return Checked(True, "recovery_code")

    async def failed(self, user_id: UUID, checked: Checked, now: datetime) -> None:
        """Count the failure; audit it (and, once per window, the throttle it engaged)."""
        rule = self._policy.failures_per_account
        counted = await self._limiter.hit(
            _failures_key(user_id), limit=rule.limit, window_seconds=rule.window_seconds
        )
        await events.record(
            self._uow_factory,
            now,
            FAILED,
            ("user", str(user_id)),
            reason=checked.reason,
            method=checked.method,
        )
        if (not counted.allowed or counted.remaining == 0) and await events.first_in_window(
            self._limiter, f"{THROTTLED}:{user_id}", rule.window_seconds
        ):
            await events.record(
                self._uow_factory,
                now,
                THROTTLED,
                ("user", str(user_id)),
                limit=str(rule.limit),
                window_seconds=str(rule.window_seconds),
            )


async def tell_owner(
    uow_factory: UnitOfWorkFactory,
    user_id: UUID,
    now: datetime,
    kind: str,
    text: tuple[str, str],
    **values: str,
) -> None:
    """An email to the account's address, sent by the delivery sweep (and retried), as
    the account notices of ``accounts.py`` are."""
    title, message = text
    notice = Notification(
        id=uuid7(),
        recipient_id=user_id,
        type=f"account.{kind}",
        title=title,
        message=message.format(**values),
        channel=Channel.EMAIL,
        created_at=now,
        dedupe_key=f"account.{kind}:{uuid7()}",
        metadata={"template": kind},
    )
    async with uow_factory() as uow:
        await uow.notifications.add(notice)
        await uow.commit()


def one_proof(proof: SecondFactorProof) -> None:
    if (proof.code is None) == (proof.recovery_code is None):
        raise InvalidInput("send either code or recovery_code", field="code")


def _failures_key(user_id: UUID) -> str:
    return f"2fa:failed:{user_id}"


def challenge_key(challenge_hash: str) -> str:
    return f"2fa:challenge:{challenge_hash}"
