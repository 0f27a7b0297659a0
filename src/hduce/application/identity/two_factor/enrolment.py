"""Enrolment: ``BeginEnrolment`` stores a new secret as *pending*, ``ConfirmEnrolment``
makes it the account's authenticator with a code of the app and hands out the recovery
codes; ``GetSecondFactorStatus``, ``PendingEnrolmentUri`` and ``RemoveSecondFactor``
complete the account's side of two-factor sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hduce.application.identity import security_events as events
from hduce.application.identity.policy import enforce_rate
from hduce.application.identity.sessions import Principal
from hduce.application.identity.two_factor.common import (
    Checked,
    SecondFactorCheck,
    SecondFactorProof,
    SecondFactorTools,
    SecondFactorUseCase,
    one_proof,
    tell_owner,
)
from hduce.domain.errors import (
    AuthenticationFailed,
    BusinessRuleViolation,
    InvalidInput,
    PermissionDenied,
)
from hduce.domain.identity import Role, User
from hduce.domain.second_factor import (
    hash_recovery_code,
    may_enrol,
    new_recovery_codes,
    normalise_totp_code,
)

ENROLLED: Final = "auth.second_factor_enrolled"
REMOVED: Final = "auth.second_factor_removed"

#: The emails the account's owner gets (always: they are about the account's security).
TURNED_ON_NOTICE: Final = (
    "Two-factor sign-in is on",
    "Two-factor sign-in was turned on for your account: signing in now also asks for "
    "the code of your authenticator app. If you did not do this, tell the clinic at once.",
)
REPLACED_NOTICE: Final = (
    "A new authenticator app was set up",
    "A new authenticator app now gives the codes that sign in to your account, and new "
    "recovery codes replaced the old ones. If you did not do this, tell the clinic at once.",
)
TURNED_OFF_NOTICE: Final = (
    "Two-factor sign-in was turned off",
    "Two-factor sign-in was turned off for your account: signing in asks for the "
    "password only. If you did not do this, tell the clinic at once.",
)


@dataclass(frozen=True, slots=True)
class EnrolmentStarted:
    """A new pending authenticator: the secret, and the URI that carries it to an app."""

    secret: str
    otpauth_uri: str


@dataclass(frozen=True, slots=True)
class SecondFactorStatus:
    enrolled: bool
    confirmed_at: datetime | None
    pending: bool
    recovery_codes_left: int
    required: bool


class _Enrolments(SecondFactorUseCase):
    async def _staff(self, principal: Principal) -> User:
        if not may_enrol(principal.user.role):
            raise PermissionDenied("only doctors and admins may use two-factor sign-in")
        async with self._uow_factory() as uow:
            user = await uow.users.get(principal.user.id)
        if user is None:
            raise AuthenticationFailed("the account of this token no longer exists")
        return user

    def _required(self, user: User) -> bool:
        return self._policy.require_admin and user.role is Role.ADMIN


class GetSecondFactorStatus(_Enrolments):
    async def __call__(self, principal: Principal) -> SecondFactorStatus:
        user = await self._staff(principal)
        enrolment = await self._store.get(user.id)
        if enrolment is None:
            return SecondFactorStatus(False, None, False, 0, self._required(user))
        return SecondFactorStatus(
            enrolled=enrolment.is_active,
            confirmed_at=enrolment.confirmed_at,
            pending=enrolment.pending_secret is not None,
            recovery_codes_left=enrolment.recovery_codes_left,
            required=self._required(user),
        )


class BeginEnrolment(_Enrolments):
    """A new secret, pending until confirmed (a previous pending one is replaced)."""

    async def __call__(self, principal: Principal) -> EnrolmentStarted:
        user = await self._staff(principal)
        await enforce_rate(
            self._limiter, f"2fa:enrol:{user.id}", self._policy.enrolments_per_account
        )
        secret = self._otp.new_secret()
        sealed = self._sealer.seal(secret, context=str(user.id))
        await self._store.set_pending(user.id, sealed, self._clock.now())
        uri = self._otp.provisioning_uri(secret, account=user.email, issuer=self._policy.issuer)
        return EnrolmentStarted(secret, uri)


class PendingEnrolmentUri(_Enrolments):
    """The ``otpauth://`` URI of the pending authenticator (for its QR code)."""

    async def __call__(self, principal: Principal) -> str:
        user = await self._staff(principal)
        enrolment = await self._store.get(user.id)
        if enrolment is None or enrolment.pending_secret is None:
            raise _nothing_pending()
        secret = self._sealer.open(enrolment.pending_secret, context=str(user.id))
        return self._otp.provisioning_uri(secret, account=user.email, issuer=self._policy.issuer)


def _nothing_pending() -> BusinessRuleViolation:
    return BusinessRuleViolation(
        "no authenticator is waiting for confirmation: start with POST /api/v1/auth/2fa/enrol",
        rule="no-pending-enrolment",
    )


class ConfirmEnrolment(_Enrolments):
    """A code of the pending secret makes it the authenticator; returns the recovery
    codes (the only time they are shown). The session that confirmed counts as a
    two-factor session from now on."""

    def __init__(self, tools: SecondFactorTools, check: SecondFactorCheck) -> None:
        super().__init__(tools)
        self._check = check

    async def __call__(self, principal: Principal, code: str) -> list[str]:
        user = await self._staff(principal)
        await self._check.admit(user.id)
        enrolment = await self._store.get(user.id)
        if enrolment is None or enrolment.pending_secret is None:
            raise _nothing_pending()
        now = self._clock.now()
        secret = self._sealer.open(enrolment.pending_secret, context=str(user.id))
        typed = normalise_totp_code(code)
        step = self._otp.matching_step(secret, typed, now) if typed is not None else None
        if step is None:
            await self._check.failed(user.id, Checked(False, "totp", "wrong-code"), now)
            raise InvalidInput(
                "this code does not match the new authenticator; check the time on your "
                "phone and enter the code it shows now",
                field="code",
            )
        codes = new_recovery_codes()
        confirmed = await self._store.confirm(
            user.id,
            pending_secret=enrolment.pending_secret,
            step=step,
            recovery_code_hashes=[hash_recovery_code(c) for c in codes],
            now=now,
        )
        if not confirmed:
            raise _nothing_pending()
        if principal.claims.session_id is not None:
            await self._store.mark_session(principal.claims.session_id, user.id, now)
        await events.record(self._uow_factory, now, ENROLLED, ("user", str(user.id)))
        if enrolment.is_active:
            await tell_owner(
                self._uow_factory, user.id, now, "second_factor_replaced", REPLACED_NOTICE
            )
        else:
            await tell_owner(self._uow_factory, user.id, now, "second_factor_on", TURNED_ON_NOTICE)
        return codes


class RemoveSecondFactor(_Enrolments):
    """Turn two-factor sign-in off, with a current code or a recovery code. Refused to
    admins while the policy requires it (they enrol a new authenticator instead)."""

    def __init__(self, tools: SecondFactorTools, check: SecondFactorCheck) -> None:
        super().__init__(tools)
        self._check = check

    async def __call__(self, principal: Principal, proof: SecondFactorProof) -> None:
        one_proof(proof)
        user = await self._staff(principal)
        if self._required(user):
            raise BusinessRuleViolation(
                "two-factor sign-in is required for admins here; to change phones, enrol "
                "the new one (POST /api/v1/auth/2fa/enrol) and confirm it",
                rule="second-factor-required-by-policy",
            )
        enrolment = await self._store.get(user.id)
        if enrolment is None or not enrolment.is_active:
            if enrolment is not None:
                await self._store.remove(user.id)  # a pending one only
            return
        await self._check.admit(user.id)
        now = self._clock.now()
        checked = await self._check.check(enrolment, proof, now)
        if not checked.ok:
            await self._check.failed(user.id, checked, now)
            field = "recovery_code" if checked.method == "recovery_code" else "code"
            raise InvalidInput(checked.detail, field=field)
        await self._store.remove(user.id)
        await events.record(
            self._uow_factory, now, REMOVED, ("user", str(user.id)), method=checked.method
        )
        await tell_owner(self._uow_factory, user.id, now, "second_factor_off", TURNED_OFF_NOTICE)
