"""The SQL refresh-token store on PostgreSQL and SQLite (after the migrations): the
shared contract, atomic rotation under real concurrency, and the whole session flow
over the SQL unit of work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.clock import SystemClock
from hduce.adapters.memory import InMemoryRateLimiter, InMemoryTokenDenylist
from hduce.adapters.security.passwords import Argon2Parameters, Argon2PasswordHasher
from hduce.adapters.security.tokens import JoseAccessTokens
from hduce.adapters.sql import SqlAccountTokenStore, SqlRefreshTokenStore, SqlUnitOfWorkFactory
from hduce.application.identity.accounts import RegisterCommand, RegisterPatient
from hduce.application.identity.email_links import AccountLinks, SendEmailVerification
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.identity.sessions import (
    CredentialChecker,
    Login,
    LoginCommand,
    Logout,
    LogoutCommand,
    RefreshTokens,
    SessionTokens,
)
from hduce.application.ports import (
    RefreshRefused,
    RefreshTokenRecord,
    Reused,
    Rotated,
    RotateResult,
)
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.ids import uuid7
from tests.fakes import RecordingLinkMailer
from tests.integration.identity.conftest import Accounts
from tests.unit.adapters.contract import RefreshTokenStoreContract, TimeNow, refresh_record


class UserSeedingStore:
    """The SQL store, creating the referenced user first (the contract makes up user
    ids; the table has a foreign key to ``users``)."""

    def __init__(self, engine: AsyncEngine, accounts: Accounts) -> None:
        self.store = SqlRefreshTokenStore(engine)
        self._accounts = accounts

    async def issue(self, record: RefreshTokenRecord) -> None:
        await self._accounts.ensure(record.user_id)
        await self.store.issue(record)

    async def rotate(
        self, token_hash: str, *, new_token_hash: str, now: datetime, expires_at: datetime
    ) -> RotateResult:
        return await self.store.rotate(
            token_hash, new_token_hash=new_token_hash, now=now, expires_at=expires_at
        )

    async def find(self, token_hash: str) -> RefreshTokenRecord | None:
        return await self.store.find(token_hash)

    async def revoke_family(self, family_id: UUID, *, now: datetime) -> int:
        return await self.store.revoke_family(family_id, now=now)

    async def revoke_all_for_user(self, user_id: UUID, *, now: datetime) -> int:
        await self._accounts.ensure(user_id)
        return await self.store.revoke_all_for_user(user_id, now=now)

    async def purge_expired(self, now: datetime) -> int:
        return await self.store.purge_expired(now)


@pytest.fixture
def refresh_tokens(engine: AsyncEngine, accounts: Accounts) -> UserSeedingStore:
    return UserSeedingStore(engine, accounts)


class TestSqlRefreshTokens(RefreshTokenStoreContract):
    pass


async def test_many_concurrent_rotations_of_one_token(
    refresh_tokens: UserSeedingStore, time_now: TimeNow
) -> None:
    """Twenty connections race to rotate one token: one wins, nineteen see reuse, and
    exactly one successor exists."""
    now = time_now()
    record = refresh_record(now)
    await refresh_tokens.issue(record)
    expires = now + timedelta(days=30)
    results = await asyncio.gather(
        *(
            refresh_tokens.rotate(
                record.token_hash, new_token_hash=f"hash-{n}", now=now, expires_at=expires
            )
            for n in range(20)
        )
    )
    assert [type(r) for r in results].count(Rotated) == 1
    assert [type(r) for r in results].count(Reused) == 19
    successors = [await refresh_tokens.find(f"hash-{n}") for n in range(20)]
    assert len([s for s in successors if s is not None]) == 1


async def test_revoked_and_unknown_tokens(refresh_tokens: UserSeedingStore) -> None:
    now = datetime.now(UTC)
    record = refresh_record(now)
    await refresh_tokens.issue(record)
    assert await refresh_tokens.revoke_all_for_user(record.user_id, now=now) == 1
    assert await refresh_tokens.rotate(
        record.token_hash, new_token_hash=f"h-{uuid7()}", now=now, expires_at=now
    ) == RefreshRefused("revoked")


async def test_the_session_flow_over_sql(
    uow_factory: SqlUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    """Register, log in, rotate, detect reuse, log out: users and tokens in one database."""
    clock = SystemClock()
    policy = IdentityPolicy()
    hasher = Argon2PasswordHasher(Argon2Parameters.for_tests())
    store = SqlRefreshTokenStore(engine)
    denylist = InMemoryTokenDenylist(clock)
    limiter = InMemoryRateLimiter(clock)
    tokens = JoseAccessTokens.with_secret(
        "x" * 40, issuer="hduce", audience="hduce-api", ttl=policy.access_token_ttl
    )
    sessions = SessionTokens(tokens, store, policy)
    links = AccountLinks(SqlAccountTokenStore(engine), RecordingLinkMailer(), policy)
    register = RegisterPatient(
        uow_factory, clock, hasher, limiter, policy, SendEmailVerification(links)
    )
    login = Login(uow_factory, clock, hasher, CredentialChecker(hasher), limiter, sessions, policy)
    refresh = RefreshTokens(uow_factory, clock, tokens, store, denylist, limiter, policy)
    logout = Logout(clock, store, denylist, policy)

    await register(RegisterCommand("Ana@Example.org", "correct horse battery", "Ana"))
    async with uow_factory() as uow:
        user = await uow.users.get_by_email("ana@example.org")
        assert user is not None
        # The welcome email waits for the delivery sweep, in the same database.
        [welcome] = await uow.notifications.pending_delivery(limit=10)
        assert (welcome.recipient_id, welcome.type) == (user.id, "account.welcome")
    # Registering the address again changes nothing but tells its owner.
    await register(RegisterCommand("ＡＮＡ@example.org", "another passphrase 42", "Eve"))
    async with uow_factory() as uow:
        pending = await uow.notifications.pending_delivery(limit=10)
        assert [n.type for n in pending] == ["account.welcome", "account.registration_attempted"]
        assert {n.recipient_id for n in pending} == {user.id}
    first = await login(LoginCommand("ana@example.org", "correct horse battery"))
    assert first.user.id == user.id
    second = await refresh(first.refresh_token)
    with pytest.raises(AuthenticationFailed):
        await refresh(first.refresh_token)
    with pytest.raises(AuthenticationFailed):
        await refresh(second.refresh_token)
    third = await login(LoginCommand("ana@example.org", "correct horse battery"))
    await logout(LogoutCommand(refresh_token=third.refresh_token))
    stored = await store.find(hash_opaque_token(third.refresh_token))
    assert stored is not None and stored.revoked_at is not None
    assert await store.purge_expired(datetime.now(UTC) + timedelta(days=31)) == 3
