"""The identity use cases wired over in-memory adapters, real Argon2 (cheap parameters)
and real JWTs, driven by a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hduce.adapters.memory import (
    InMemoryCache,
    InMemoryRateLimiter,
    InMemoryRefreshTokenStore,
    InMemoryStore,
    InMemoryTokenDenylist,
    InMemoryUnitOfWorkFactory,
    InMemoryUserAccessCache,
)
from hduce.adapters.memory.account_tokens import InMemoryAccountTokenStore
from hduce.adapters.security.passwords import (
    Argon2Parameters,
    Argon2PasswordHasher,
    load_common_passwords,
)
from hduce.adapters.security.tokens import JoseAccessTokens
from hduce.application.identity.accounts import (
    CreateAccount,
    GetMe,
    ListUsers,
    NewAccount,
    RegisterCommand,
    RegisterPatient,
    SetUserActive,
    UpdateMyProfile,
)
from hduce.application.identity.email_links import AccountLinks, SendEmailVerification
from hduce.application.identity.google import BeginGoogleSignIn, CompleteGoogleSignIn
from hduce.application.identity.policy import IdentityPolicy, RateRule
from hduce.application.identity.sessions import (
    Authenticate,
    CredentialChecker,
    Login,
    LoginCommand,
    Logout,
    RefreshTokens,
    SessionTokens,
    TokenPair,
)
from hduce.domain.events import DomainEvent, UserRegistered
from hduce.domain.identity import Actor, Role, User, normalise_email
from hduce.domain.notifications import Channel, Notification
from tests.fakes import FakeOidcProvider, FixedClock, RecordingLinkMailer

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
SECRET = "unit-test-secret-unit-test-secret-0123456789"
PASSWORD = "correct horse battery staple"
GENEROUS = RateRule(10_000, 60)
ACCOUNT_CACHE_TTL = timedelta(seconds=5)


def registered_via(event: DomainEvent) -> str:
    """How the account of a ``user.registered`` event was made."""
    assert isinstance(event.payload, UserRegistered)
    return event.payload.via


def policy(**overrides: object) -> IdentityPolicy:
    values: dict[str, object] = {
        "common_passwords": load_common_passwords(),
        "login_per_ip": GENEROUS,
        "login_per_account": GENEROUS,
        "login_per_account_client": GENEROUS,
        "register_per_ip": GENEROUS,
        "register_per_account": GENEROUS,
        "refresh_per_family": GENEROUS,
        "google_per_ip": GENEROUS,
    }
    values.update(overrides)
    return IdentityPolicy(**values)  # type: ignore[arg-type]


class CountingHasher(Argon2PasswordHasher):
    """Argon2 that counts verifications (to prove unknown emails cost the same work)."""

    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        super().__init__(parameters or Argon2Parameters.for_tests())
        self.verifications = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return await super().verify(password_hash, password)


@dataclass
class Kit:
    policy: IdentityPolicy = field(default_factory=policy)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    store: InMemoryStore = field(default_factory=InMemoryStore)
    hasher: CountingHasher = field(default_factory=CountingHasher)
    oidc: FakeOidcProvider = field(default_factory=FakeOidcProvider)

    def __post_init__(self) -> None:
        self.uow_factory = InMemoryUnitOfWorkFactory(self.store, self.clock)
        self.tokens = JoseAccessTokens.with_secret(
            SECRET, issuer="hduce", audience="hduce-api", ttl=self.policy.access_token_ttl
        )
        self.refresh_store = InMemoryRefreshTokenStore()
        self.denylist = InMemoryTokenDenylist(self.clock)
        self.accounts = InMemoryUserAccessCache(self.clock, ACCOUNT_CACHE_TTL)
        self.limiter = InMemoryRateLimiter(self.clock)
        self.cache = InMemoryCache(self.clock)
        self.credentials = CredentialChecker(self.hasher)
        self.sessions = SessionTokens(self.tokens, self.refresh_store, self.policy)
        self.link_mailer = RecordingLinkMailer()
        self.account_tokens = InMemoryAccountTokenStore()
        self.links = AccountLinks(self.account_tokens, self.link_mailer, self.policy)
        self.register = RegisterPatient(
            self.uow_factory,
            self.clock,
            self.hasher,
            self.limiter,
            self.policy,
            SendEmailVerification(self.links),
        )
        self.create_account = CreateAccount(self.uow_factory, self.clock, self.hasher, self.policy)
        self.login = Login(
            self.uow_factory,
            self.clock,
            self.hasher,
            self.credentials,
            self.limiter,
            self.sessions,
            self.policy,
        )
        self.refresh = RefreshTokens(
            self.uow_factory,
            self.clock,
            self.tokens,
            self.refresh_store,
            self.denylist,
            self.limiter,
            self.policy,
        )
        self.logout = Logout(self.clock, self.refresh_store, self.denylist, self.policy)
        self.authenticate = Authenticate(
            self.uow_factory, self.clock, self.tokens, self.denylist, self.accounts
        )
        self.get_me = GetMe(self.uow_factory)
        self.update_profile = UpdateMyProfile(self.uow_factory, self.clock)
        self.set_active = SetUserActive(
            self.uow_factory, self.clock, self.refresh_store, self.accounts
        )
        self.list_users = ListUsers(self.uow_factory)
        self.begin_google = BeginGoogleSignIn(self.oidc, self.cache, self.limiter, self.policy)
        self.complete_google = CompleteGoogleSignIn(
            self.oidc,
            self.cache,
            self.uow_factory,
            self.clock,
            self.sessions,
            self.refresh_store,
            self.policy,
        )

    # ------------------------------------------------------------------ helpers

    async def patient(self, email: str = "ana@example.org", password: str = PASSWORD) -> User:
        """A self-registered patient, as stored (registering does not say who it made)."""
        await self.register(RegisterCommand(email=email, password=password, full_name="Ana Torres"))
        return self.user(email)

    def user(self, email: str) -> User:
        """The stored account of ``email`` (any spelling of it)."""
        wanted = normalise_email(email)
        [user] = [user for user in self.store.users.values() if user.email == wanted]
        return user

    def emails_to(self, user: User) -> list[Notification]:
        """The email notifications stored for ``user`` (the delivery sweep sends them)."""
        return sorted(
            (
                n
                for n in self.store.notifications.values()
                if n.recipient_id == user.id and n.channel is Channel.EMAIL
            ),
            key=lambda n: n.created_at,
        )

    async def account(
        self, role: Role, email: str, password: str | None = PASSWORD, name: str = "Someone"
    ) -> User:
        return await self.create_account(
            Actor.system(), NewAccount(email=email, full_name=name, role=role, password=password)
        )

    async def sign_in(self, email: str = "ana@example.org", password: str = PASSWORD) -> TokenPair:
        return await self.login(LoginCommand(email=email, password=password, client_ip="10.0.0.1"))

    def advance(self, **kwargs: float) -> None:
        self.clock.advance(timedelta(**kwargs))
