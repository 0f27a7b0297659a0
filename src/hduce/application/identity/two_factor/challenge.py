"""The sign-in challenge: ``SecondFactorGate`` answers a password or Google sign-in
of an account with an authenticator with a challenge, ``VerifySecondFactor`` turns the
challenge and a code into the session; ``AdminSecondFactorRule`` holds admins' sessions
to the policy; ``PurgeEndedSecondFactorSessions`` forgets the marks of ended sessions."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from hduce.application.identity import security_events as events
from hduce.application.identity.policy import ACCOUNT_DISABLED, MAX_OPAQUE_TOKEN_LENGTH
from hduce.application.identity.sessions import Principal, SessionTokens, TokenPair
from hduce.application.identity.two_factor.common import (
    SecondFactorCheck,
    SecondFactorPolicy,
    SecondFactorProof,
    SecondFactorTools,
    SecondFactorUseCase,
    challenge_key,
    one_proof,
    tell_owner,
)
from hduce.application.ports import Clock
from hduce.application.ports.second_factor import SecondFactorStore
from hduce.domain.credentials import hash_opaque_token, new_opaque_token
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role, User
from hduce.domain.second_factor import SecondFactorEnrolmentRequired, SecondFactorRequired
from hduce.domain.sessions import SignInClient

PASSED: Final = "auth.second_factor_passed"

CHALLENGE_GONE: Final = "this sign-in challenge expired or was used already; sign in again"
CHALLENGE_DIED: Final = "too many wrong codes for this sign-in; sign in again"
ENROL_FIRST: Final = (
    "admins must sign in with a second factor: enrol an authenticator app with "
    "POST /api/v1/auth/2fa/enrol, then confirm it with POST /api/v1/auth/2fa/confirm"
)
SIGN_IN_AGAIN: Final = (
    "admins must sign in with a second factor, and this session was opened without it: "
    "sign in again and enter the code of your authenticator app"
)
#: The email to the account's owner when a recovery code signed in.
RECOVERY_CODE_NOTICE: Final = (
    "A recovery code was used to sign in",
    "Someone signed in to your account with one of its recovery codes instead of the "
    "authenticator app ({left} left). If it was not you, tell the clinic at once.",
)


class SecondFactorGate(SecondFactorUseCase):
    """The ``SignInGate`` of password and Google sign-in: an account with a confirmed
    authenticator gets a challenge instead of a session."""

    async def admit(self, user: User, client_ip: str | None) -> None:
        enrolment = await self._store.get(user.id)
        if enrolment is None or not enrolment.is_active:
            return
        challenge = new_opaque_token()
        ttl = int(self._policy.challenge_ttl.total_seconds())
        record = json.dumps({"user_id": str(user.id), "client_ip": client_ip or "-"})
        await self._cache.set(challenge_key(hash_opaque_token(challenge)), record.encode(), ttl)
        raise SecondFactorRequired(challenge, ttl)


@dataclass(frozen=True, slots=True)
class VerifyCommand:
    challenge: str
    proof: SecondFactorProof
    client_ip: str | None = None
    user_agent: str | None = None


class VerifySecondFactor(SecondFactorUseCase):
    """Challenge + code (or recovery code) -> the session, remembered as two-factor."""

    def __init__(
        self, tools: SecondFactorTools, check: SecondFactorCheck, sessions: SessionTokens
    ) -> None:
        super().__init__(tools)
        self._check = check
        self._sessions = sessions

    async def __call__(self, command: VerifyCommand) -> TokenPair:
        one_proof(command.proof)
        if not command.challenge or len(command.challenge) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed(CHALLENGE_GONE)
        challenge_hash = hash_opaque_token(command.challenge)
        key = challenge_key(challenge_hash)
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
            await tell_owner(
                self._uow_factory,
                user.id,
                now,
                "recovery_code_used",
                RECOVERY_CODE_NOTICE,
                left=left,
            )
        await events.record(self._uow_factory, now, PASSED, ("user", str(user.id)), **details)
        return pair


class PurgeEndedSecondFactorSessions:
    """Housekeeping: forget the two-factor marks of sessions that ended (run it with the
    refresh-token purge)."""

    def __init__(self, store: SecondFactorStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def __call__(self) -> int:
        return await self._store.forget_ended_sessions(self._clock.now())


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
