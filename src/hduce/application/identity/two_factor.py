"""Two-factor sign-in for staff: TOTP authenticators, recovery codes, the sign-in
challenge, and the policy that admins must use it (ADR 0017).

* Enrolment: ``BeginEnrolment`` stores a new secret as *pending* and hands out its
  ``otpauth://`` URI; ``ConfirmEnrolment`` takes a code from the app, makes the secret
  the account's authenticator and returns 10 recovery codes, once (only their SHA-256
  is stored). A confirmed authenticator keeps working while a new one is pending, so
  someone who lost their phone signs in with a recovery code and enrols the new one.
* Sign-in: ``SecondFactorGate`` (the ``SignInGate`` of password and Google sign-in)
  answers an account with an authenticator with ``SecondFactorRequired``: a challenge
  (opaque, 5 minutes, stored as its hash in the shared ``Cache``). ``VerifySecondFactor``
  takes the challenge and a code or a recovery code and starts the session, which is
  then remembered as a two-factor session (``SecondFactorStore.mark_session``): refreshing
  it never asks again.
* Replay: a TOTP time step is accepted once per account (``SecondFactorStore.use_step``).
* Throttling: a challenge dies after ``failures_per_challenge`` wrong codes; past
  ``failures_per_account`` wrong codes (sign-in, confirmation, removal) the account's
  second-factor attempts wait (429 with Retry-After). Only someone who knows the password
  can fail a code, so this cannot be used to lock the owner out by strangers.
* Policy: with ``require_admin`` an admin's session that did not pass a second factor
  may only use the two-factor routes (``AdminSecondFactorRule``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from hduce.application.identity import security_events as events
from hduce.application.identity.policy import (
    ACCOUNT_DISABLED,
    MAX_OPAQUE_TOKEN_LENGTH,
    RateRule,
    enforce_rate,
)
from hduce.application.identity.sessions import Principal, SessionTokens, TokenPair
from hduce.application.ports import Cache, Clock, RateLimiter, UnitOfWorkFactory
from hduce.application.ports.second_factor import (
    OneTimePasswords,
    SecondFactorStore,
    SecretSealer,
    TotpEnrolment,
)
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.errors import (
    AuthenticationFailed,
    BusinessRuleViolation,
    InvalidInput,
    PermissionDenied,
    RateLimited,
)
from hduce.domain.identity import Role, User
from hduce.domain.ids import uuid7
from hduce.domain.notifications import Channel, Notification
from hduce.domain.second_factor import (
    SecondFactorEnrolmentRequired,
    SecondFactorRequired,
    hash_recovery_code,
    is_fresh_step,
    may_enrol,
    new_recovery_codes,
    normalise_recovery_code,
    normalise_totp_code,
)
from hduce.domain.sessions import SignInClient

ENROLLED: Final = "auth.second_factor_enrolled"
REMOVED: Final = "auth.second_factor_removed"
PASSED: Final = "auth.second_factor_passed"
FAILED: Final = "auth.second_factor_failed"
THROTTLED: Final = "auth.second_factor_throttled"

CHALLENGE_GONE: Final = "this sign-in challenge expired or was used already; sign in again"
WRONG_CODE: Final = "this code is not right; check the time on your phone and try again"
REPLAYED_CODE: Final = "this code was used already; wait for the next one and enter it"
WRONG_RECOVERY_CODE: Final = "this recovery code is not right or was used already"
UNREADABLE: Final = (
    "your authenticator can no longer be checked (the server's key changed): sign in "
    "with a recovery code, then enrol your app again"
)
CHALLENGE_DIED: Final = "too many wrong codes for this sign-in; sign in again"
ENROL_FIRST: Final = (
    "admins must sign in with a second factor: enrol an authenticator app with "
    "POST /api/v1/auth/2fa/enrol, then confirm it with POST /api/v1/auth/2fa/confirm"
)
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
RECOVERY_CODE_NOTICE: Final = (
    "A recovery code was used to sign in",
    "Someone signed in to your account with one of its recovery codes instead of the "
    "authenticator app ({left} left). If it was not you, tell the clinic at once.",
)
SIGN_IN_AGAIN: Final = (
    "admins must sign in with a second factor, and this session was opened without it: "
    "sign in again and enter the code of your authenticator app"
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
class _Checked:
    ok: bool
    method: str  # "totp" | "recovery_code"
    reason: str = ""
    detail: str = ""


class SecondFactorCheck:
    """Checks a proof against an account's authenticator, spending what it uses (the
    TOTP step, the recovery code), and counts failures against the account."""

    def __init__(
        self,
        store: SecondFactorStore,
        otp: OneTimePasswords,
        sealer: SecretSealer,
        limiter: RateLimiter,
        uow_factory: UnitOfWorkFactory,
        policy: SecondFactorPolicy,
    ) -> None:
        self._store = store
        self._otp = otp
        self._sealer = sealer
        self._limiter = limiter
        self._uow_factory = uow_factory
        self._policy = policy

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
    ) -> _Checked:
        if proof.recovery_code is not None:
            return await self._recovery(enrolment, proof.recovery_code, now)
        if proof.code is None or enrolment.secret is None:
            return _Checked(False, "totp", "no-code", WRONG_CODE)
        try:
            secret = self._sealer.open(enrolment.secret, context=str(enrolment.user_id))
        except ValueError:  # sealed with another key (HDUCE_TOTP_ENCRYPTION_KEY changed)
            return _Checked(False, "totp", "unreadable-secret", UNREADABLE)
        return await self._totp(enrolment.user_id, secret, proof.code, now, enrolment)

    async def _totp(
        self, user_id: UUID, secret: str, raw: str, now: datetime, enrolment: TotpEnrolment
    ) -> _Checked:
        code = normalise_totp_code(raw)
        step = self._otp.matching_step(secret, code, now) if code is not None else None
        if step is None:
            return _Checked(False, "totp", "wrong-code", WRONG_CODE)
        if not is_fresh_step(step, enrolment.last_used_step) or not await self._store.use_step(
            user_id, step
        ):
            return _Checked(False, "totp", "replayed-code", REPLAYED_CODE)
        return _Checked(True, "totp")

    async def _recovery(self, enrolment: TotpEnrolment, raw: str, now: datetime) -> _Checked:
        if normalise_recovery_code(raw) is None or not await self._store.use_recovery_code(
            enrolment.user_id, hash_recovery_code(raw), now
        ):
            return _Checked(False, "recovery_code", "wrong-recovery-code", WRONG_RECOVERY_CODE)
        return _Checked(True, "recovery_code")

    async def failed(self, user_id: UUID, checked: _Checked, now: datetime) -> None:
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


async def _tell_owner(
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


def _failures_key(user_id: UUID) -> str:
    return f"2fa:failed:{user_id}"


def _challenge_key(challenge_hash: str) -> str:
    return f"2fa:challenge:{challenge_hash}"


# ------------------------------------------------------------------ sign-in


class SecondFactorGate:
    """The ``SignInGate`` of password and Google sign-in: an account with a confirmed
    authenticator gets a challenge instead of a session."""

    def __init__(
        self, store: SecondFactorStore, cache: Cache, clock: Clock, policy: SecondFactorPolicy
    ) -> None:
        self._store = store
        self._cache = cache
        self._clock = clock
        self._policy = policy

    async def admit(self, user: User, client_ip: str | None) -> None:
        enrolment = await self._store.get(user.id)
        if enrolment is None or not enrolment.is_active:
            return
        challenge = new_opaque_token()
        ttl = int(self._policy.challenge_ttl.total_seconds())
        record = json.dumps({"user_id": str(user.id), "client_ip": client_ip or "-"})
        await self._cache.set(_challenge_key(hash_opaque_token(challenge)), record.encode(), ttl)
        raise SecondFactorRequired(challenge, ttl)


@dataclass(frozen=True, slots=True)
class VerifyCommand:
    challenge: str
    proof: SecondFactorProof
    client_ip: str | None = None
    user_agent: str | None = None


class VerifySecondFactor:
    """Challenge + code (or recovery code) -> the session, remembered as two-factor."""

    def __init__(
        self,
        check: SecondFactorCheck,
        store: SecondFactorStore,
        cache: Cache,
        limiter: RateLimiter,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sessions: SessionTokens,
        policy: SecondFactorPolicy,
    ) -> None:
        self._check = check
        self._store = store
        self._cache = cache
        self._limiter = limiter
        self._uow_factory = uow_factory
        self._clock = clock
        self._sessions = sessions
        self._policy = policy

    async def __call__(self, command: VerifyCommand) -> TokenPair:
        _one_proof(command.proof)
        if not command.challenge or len(command.challenge) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed(CHALLENGE_GONE)
        challenge_hash = hash_opaque_token(command.challenge)
        key = _challenge_key(challenge_hash)
        raw = await self._cache.get(key)
        if raw is None:
            raise AuthenticationFailed(CHALLENGE_GONE)
        user_id = UUID(json.loads(raw)["user_id"])
        await self._check.admit(user_id)
        async with self._uow_factory() as uow:
            user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            await self._cache.delete(key)
            raise AuthenticationFailed(ACCOUNT_DISABLED if user else CHALLENGE_GONE)
        enrolment = await self._store.get(user_id)
        if enrolment is None or not enrolment.is_active:
            # Removed meanwhile: the sign-in no longer needs this challenge.
            await self._cache.delete(key)
            raise AuthenticationFailed(CHALLENGE_GONE)
        now = self._clock.now()
        checked = await self._check.check(enrolment, command.proof, now)
        ttl = int(self._policy.challenge_ttl.total_seconds())
        if not checked.ok:
            await self._check.failed(user_id, checked, now)
            wrong = await self._limiter.hit(
                f"2fa:challenge-failed:{challenge_hash}",
                limit=self._policy.failures_per_challenge,
                window_seconds=ttl,
            )
            if not wrong.allowed or wrong.remaining == 0:
                await self._cache.delete(key)
                raise AuthenticationFailed(CHALLENGE_DIED)
            raise AuthenticationFailed(checked.detail)
        # Single use, even for two right codes at once: the first to count wins.
        claimed = await self._limiter.hit(
            f"2fa:challenge-used:{challenge_hash}", limit=1, window_seconds=ttl
        )
        await self._cache.delete(key)
        if not claimed.allowed:
            raise AuthenticationFailed(CHALLENGE_GONE)
        # The session is recorded (and a new device told) here, where it starts.
        pair = await self._sessions.start(
            user, now, SignInClient(command.client_ip, command.user_agent)
        )
        await self._store.mark_session(pair.session_id, user.id, now)
        details = {"method": checked.method, "session_id": str(pair.session_id)}
        if checked.method == "recovery_code":
            current = await self._store.get(user_id)
            left = str(current.recovery_codes_left if current else 0)
            details["recovery_codes_left"] = left
            await _tell_owner(
                self._uow_factory,
                user.id,
                now,
                "recovery_code_used",
                RECOVERY_CODE_NOTICE,
                left=left,
            )
        await events.record(self._uow_factory, now, PASSED, ("user", str(user.id)), **details)
        return pair


def _one_proof(proof: SecondFactorProof) -> None:
    if (proof.code is None) == (proof.recovery_code is None):
        raise InvalidInput("send either code or recovery_code", field="code")


# ------------------------------------------------------------------ enrolment


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


class _Enrolments:
    def __init__(
        self,
        store: SecondFactorStore,
        otp: OneTimePasswords,
        sealer: SecretSealer,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SecondFactorPolicy,
    ) -> None:
        self._store = store
        self._otp = otp
        self._sealer = sealer
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy

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

    def __init__(
        self,
        store: SecondFactorStore,
        otp: OneTimePasswords,
        sealer: SecretSealer,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SecondFactorPolicy,
        limiter: RateLimiter,
    ) -> None:
        super().__init__(store, otp, sealer, uow_factory, clock, policy)
        self._limiter = limiter

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

    def __init__(
        self,
        store: SecondFactorStore,
        otp: OneTimePasswords,
        sealer: SecretSealer,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SecondFactorPolicy,
        check: SecondFactorCheck,
    ) -> None:
        super().__init__(store, otp, sealer, uow_factory, clock, policy)
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
            await self._check.failed(user.id, _Checked(False, "totp", "wrong-code"), now)
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
            await _tell_owner(
                self._uow_factory, user.id, now, "second_factor_replaced", REPLACED_NOTICE
            )
        else:
            await _tell_owner(self._uow_factory, user.id, now, "second_factor_on", TURNED_ON_NOTICE)
        return codes


class RemoveSecondFactor(_Enrolments):
    """Turn two-factor sign-in off, with a current code or a recovery code. Refused to
    admins while the policy requires it (they enrol a new authenticator instead)."""

    def __init__(
        self,
        store: SecondFactorStore,
        otp: OneTimePasswords,
        sealer: SecretSealer,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SecondFactorPolicy,
        check: SecondFactorCheck,
    ) -> None:
        super().__init__(store, otp, sealer, uow_factory, clock, policy)
        self._check = check

    async def __call__(self, principal: Principal, proof: SecondFactorProof) -> None:
        _one_proof(proof)
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
        await _tell_owner(self._uow_factory, user.id, now, "second_factor_off", TURNED_OFF_NOTICE)


class PurgeEndedSecondFactorSessions:
    """Housekeeping: forget the two-factor marks of sessions that ended (run it with the
    refresh-token purge)."""

    def __init__(self, store: SecondFactorStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def __call__(self) -> int:
        return await self._store.forget_ended_sessions(self._clock.now())


# ------------------------------------------------------------------ the admin policy


class AdminSecondFactorRule:
    """With the policy on, an admin's session must have passed a second factor.

    Sessions that passed are remembered in this process (a bounded set): a session
    never loses the mark while it lives (its end is the denylist's business), so only
    sessions not marked yet cost a read of the store."""

    _REMEMBERED: Final = 10_000

    def __init__(self, store: SecondFactorStore, policy: SecondFactorPolicy) -> None:
        self._store = store
        self._policy = policy
        self._passed: OrderedDict[UUID, None] = OrderedDict()

    async def check(self, principal: Principal) -> None:
        if not self._policy.require_admin or principal.user.role is not Role.ADMIN:
            return
        session_id = principal.claims.session_id
        if session_id is not None and await self._passed_second_factor(session_id):
            return
        enrolment = await self._store.get(principal.user.id)
        if enrolment is not None and enrolment.is_active:
            raise SecondFactorEnrolmentRequired(SIGN_IN_AGAIN)
        raise SecondFactorEnrolmentRequired(ENROL_FIRST)

    async def _passed_second_factor(self, session_id: UUID) -> bool:
        if session_id in self._passed:
            self._passed.move_to_end(session_id)
            return True
        if not await self._store.is_session_marked(session_id):
            return False
        self._passed[session_id] = None
        if len(self._passed) > self._REMEMBERED:
            self._passed.popitem(last=False)
        return True
