"""Google sign-in (OpenID Connect with state, nonce and PKCE)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from hduce.application.identity.accounts import add_user
from hduce.application.identity.policy import (
    ACCOUNT_DISABLED,
    MAX_OPAQUE_TOKEN_LENGTH,
    IdentityPolicy,
    enforce_rate,
)
from hduce.application.identity.sessions import OPEN_GATE, SessionTokens, SignInGate, TokenPair
from hduce.application.ports import (
    Cache,
    Clock,
    OidcProvider,
    RateLimiter,
    RefreshTokenStore,
    UnitOfWorkFactory,
)
from hduce.domain.audit import AuditEntry
from hduce.domain.credentials import (
    hash_opaque_token,
    new_opaque_token,
)
from hduce.domain.errors import (
    AuthenticationFailed,
)
from hduce.domain.identity import Role, User, normalise_email
from hduce.domain.ids import uuid7
from hduce.domain.sessions import SignInClient
from hduce.domain.text import without_forbidden_characters

# ------------------------------------------------------------------ Google sign-in


@dataclass(frozen=True, slots=True)
class OidcRedirect:
    """Where to send the browser, and the secret the browser must bring back."""

    url: str
    state: str
    #: Set as a cookie on the browser that started the flow; the callback must carry it,
    #: so a callback URL planted by someone else (login CSRF) is refused.
    browser_binding: str


@dataclass(frozen=True, slots=True)
class OidcCallback:
    code: str
    state: str
    browser_binding: str | None
    client_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class _PendingSignIn:
    nonce: str
    code_verifier: str
    binding_hash: str

    def dump(self) -> bytes:
        return json.dumps(
            {"nonce": self.nonce, "verifier": self.code_verifier, "binding": self.binding_hash}
        ).encode()

    @classmethod
    def load(cls, raw: bytes) -> _PendingSignIn:
        data = json.loads(raw)
        return cls(str(data["nonce"]), str(data["verifier"]), str(data["binding"]))


def _state_key(state: str) -> str:
    return f"oidc:state:{hash_opaque_token(state)}"


class BeginGoogleSignIn:
    def __init__(
        self,
        oidc: OidcProvider,
        cache: Cache,
        limiter: RateLimiter,
        policy: IdentityPolicy,
    ) -> None:
        self._oidc = oidc
        self._cache = cache
        self._limiter = limiter
        self._policy = policy

    async def __call__(self, client_ip: str | None = None) -> OidcRedirect:
        await enforce_rate(
            self._limiter, f"google:ip:{client_ip or '-'}", self._policy.google_per_ip
        )
        state, nonce, verifier, binding = (new_opaque_token() for _ in range(4))
        pending = _PendingSignIn(nonce, verifier, hash_opaque_token(binding))
        ttl = int(self._policy.oidc_state_ttl.total_seconds())
        await self._cache.set(_state_key(state), pending.dump(), ttl)
        url = await self._oidc.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        return OidcRedirect(url=url, state=state, browser_binding=binding)


@dataclass(frozen=True, slots=True)
class _SignInOutcome:
    user: User
    linked: bool = False
    created: bool = False


class CompleteGoogleSignIn:
    """Verify the callback, then sign in the account with that Google subject, or link
    the account with that (Google-verified) email, or create a patient."""

    def __init__(
        self,
        oidc: OidcProvider,
        cache: Cache,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        sessions: SessionTokens,
        store: RefreshTokenStore,
        policy: IdentityPolicy,
        gate: SignInGate = OPEN_GATE,
    ) -> None:
        self._oidc = oidc
        self._cache = cache
        self._uow_factory = uow_factory
        self._clock = clock
        self._sessions = sessions
        self._store = store
        self._policy = policy
        self._gate = gate

    async def __call__(self, callback: OidcCallback) -> TokenPair:
        if not callback.state or len(callback.state) > MAX_OPAQUE_TOKEN_LENGTH:
            raise AuthenticationFailed("unknown sign-in state; start again")
        key = _state_key(callback.state)
        raw = await self._cache.get(key)
        if raw is None:
            raise AuthenticationFailed("this sign-in expired or was used already; start again")
        await self._cache.delete(key)  # single use, whatever happens next
        pending = _PendingSignIn.load(raw)
        binding = callback.browser_binding or ""
        if not secrets.compare_digest(hash_opaque_token(binding), pending.binding_hash):
            raise AuthenticationFailed("this sign-in was started in another browser")
        identity = await self._oidc.exchange_and_verify(
            code=callback.code, code_verifier=pending.code_verifier, nonce=pending.nonce
        )
        if not identity.email_verified:
            raise AuthenticationFailed("Google has not verified this email address")
        email = normalise_email(identity.email)
        now = self._clock.now()
        outcome = await self._find_or_create(identity.subject, email, identity.name, now)
        user = outcome.user
        if not user.is_active:
            raise AuthenticationFailed(ACCOUNT_DISABLED)
        if outcome.linked:
            # Sessions opened before the owner of the email proved it may belong to
            # whoever registered the address first: close them.
            await self._store.revoke_all_for_user(user.id, now=now)
        await self._gate.admit(user, callback.client_ip)
        return await self._sessions.start(
            user, now, SignInClient(callback.client_ip, callback.user_agent)
        )

    async def _find_or_create(
        self, subject: str, email: str, name: str | None, now: datetime
    ) -> _SignInOutcome:
        async with self._uow_factory() as uow:
            user = await uow.users.get_by_google_subject(subject)
            if user is not None:
                return _SignInOutcome(user)
            user = await uow.users.get_by_email(email)
            if user is not None:
                if user.google_subject is not None:
                    raise AuthenticationFailed(
                        "this account is linked to another Google account already"
                    )
                user.google_subject = subject
                user.verify_email(now)  # Google verified it (unverified ones are refused)
                await uow.users.save(user)
                await uow.audit.add(
                    AuditEntry.of(user.actor, now, "user.google_linked", "user", user.id)
                )
                await uow.commit()
                return _SignInOutcome(user, linked=True)
            user = User(
                id=uuid7(),
                email=email,
                # Not typed here and not ours to refuse: controls are dropped instead.
                full_name=without_forbidden_characters(name or "") or email.partition("@")[0],
                role=Role.PATIENT,
                created_at=now,
                google_subject=subject,
                timezone=self._policy.default_timezone,
                email_verified_at=now,  # Google says it is verified (checked above)
            )
            await add_user(uow, user, user.actor, now, "google")
            await uow.commit()
            return _SignInOutcome(user, created=True)
