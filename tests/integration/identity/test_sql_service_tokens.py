"""The SQL stores of ADR 0016 on PostgreSQL and SQLite (after the migrations): signing
keys (one key per generation, even when two processes race for it; encrypted at rest)
and service clients (only the hash of the secret stored; revocation)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.security.key_ring import DatabaseAccessTokens, JoseKeyMaker
from hduce.adapters.security.tokens import SigningKeyError
from hduce.adapters.sql import SqlServiceClientStore, SqlSigningKeyStore, SqlUnitOfWorkFactory
from hduce.adapters.sql.service_tokens import ServiceClientRow
from hduce.application.identity.service_clients import (
    AuthenticateServiceClient,
    RegisterServiceClient,
    RevokeServiceClient,
)
from hduce.application.identity.signing_keys import (
    EnsureSigningKey,
    KeySchedule,
    RotateSigningKeys,
)
from hduce.application.ports import ServiceClient
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Actor, Role
from tests.fakes import FixedClock

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
PASSPHRASE = "integration-passphrase-0123456789abcdef"
SCHEDULE = KeySchedule(
    retire_after=timedelta(minutes=15, seconds=30), activation_delay=timedelta(minutes=1)
)


def _maker(passphrase: str | None = PASSPHRASE) -> JoseKeyMaker:
    return JoseKeyMaker("Ed25519", passphrase)


# ------------------------------------------------------------------ signing keys


async def test_one_key_per_generation_even_when_processes_race(engine: AsyncEngine) -> None:
    store = SqlSigningKeyStore(engine)
    maker = _maker()
    first, rival = (maker.make(generation=1, created_at=NOW, activates_at=NOW) for _ in range(2))
    assert await store.list_all() == []
    results = await asyncio.gather(store.add(first), store.add(rival))
    assert sorted(results) == [False, True]
    [stored] = await store.list_all()
    assert stored.kid in {first.kid, rival.kid}
    assert stored.created_at == NOW and stored.activates_at == NOW
    assert stored.private_key.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")

    second = maker.make(generation=2, created_at=NOW, activates_at=NOW + timedelta(minutes=1))
    assert await store.add(second)
    assert [key.generation for key in await store.list_all()] == [1, 2]
    assert await store.delete([stored.kid, "unknown"]) == 1
    assert [key.kid for key in await store.list_all()] == [second.kid]


async def test_processes_starting_at_once_share_the_first_key(engine: AsyncEngine) -> None:
    store = SqlSigningKeyStore(engine)
    clock = FixedClock(NOW)
    ensure = EnsureSigningKey(store, _maker(), clock)
    seen = await asyncio.gather(*(ensure() for _ in range(4)))
    kids = {tuple(record.kid for record in records) for records in seen}
    assert len(kids) == 1 and len(next(iter(kids))) == 1


async def test_tokens_survive_rotation_and_keys_need_the_passphrase(engine: AsyncEngine) -> None:
    store = SqlSigningKeyStore(engine)
    clock = FixedClock(NOW)

    def tokens(passphrase: str | None = PASSPHRASE) -> DatabaseAccessTokens:
        return DatabaseAccessTokens(
            store=store,
            ensure=EnsureSigningKey(store, _maker(), clock),
            schedule=SCHEDULE,
            passphrase=passphrase,
            issuer="hduce",
            audience="hduce-api",
            ttl=timedelta(minutes=15),
        )

    signer = tokens()
    await signer.load()
    user_id = uuid4()
    before = signer.issue(user_id=user_id, role=Role.PATIENT, now=clock.now())

    rotation = await RotateSigningKeys(store, _maker(), clock, SCHEDULE)()
    verifier = tokens()  # another process: reads both keys from the database
    await verifier.load()
    assert verifier.kids == [*signer.kids, rotation.new_key.kid]
    clock.advance(minutes=1)
    after = verifier.issue(user_id=user_id, role=Role.PATIENT, now=clock.now())
    await signer.reload()
    for token in (before, after):
        assert signer.verify(token.token, now=clock.now()).user_id == user_id
        assert verifier.verify(token.token, now=clock.now()).jti == token.jti

    with pytest.raises(SigningKeyError, match="HDUCE_JWT_KEY_PASSPHRASE"):
        await tokens(passphrase=None).load()
    with pytest.raises(SigningKeyError, match="wrong HDUCE_JWT_KEY_PASSPHRASE"):
        await tokens(passphrase="not-the-passphrase-0123456789abcdef").load()

    # Retired keys (their tokens all expired) are deleted by the next rotation.
    clock.advance(minutes=16)
    later = await RotateSigningKeys(store, _maker(), clock, SCHEDULE)()
    assert later.deleted == [signer.kids[0]]
    assert [key.generation for key in await store.list_all()] == [2, 3]


# ------------------------------------------------------------------ service clients


async def test_service_clients_store_only_the_hash_and_revoke(engine: AsyncEngine) -> None:
    store = SqlServiceClientStore(engine)
    clock = FixedClock(NOW)
    uow_factory = SqlUnitOfWorkFactory(engine)
    admin = Actor(Role.ADMIN, uuid4())
    registered = await RegisterServiceClient(uow_factory, clock, store)(admin, "  PACS  ")
    client = registered.client
    assert client.name == "PACS" and client.created_by == admin.user_id
    assert await store.get(client.client_id) == client
    assert await store.get("svc_unknown") is None

    async with engine.connect() as connection:
        stored = (await connection.execute(select(ServiceClientRow.secret_hash))).scalars().all()
    assert stored == [client.secret_hash] and registered.client_secret not in stored

    authenticate = AuthenticateServiceClient(store)
    assert await authenticate(client.client_id, registered.client_secret) == client
    for client_id, secret in ((client.client_id, "wrong"), ("svc_unknown", "x")):
        with pytest.raises(AuthenticationFailed):
            await authenticate(client_id, secret)

    other = ServiceClient("svc_other", "Lab", "0" * 64, NOW + timedelta(seconds=1))
    await store.add(other)
    assert [c.client_id for c in await store.list_all()] == [client.client_id, "svc_other"]

    revoke = RevokeServiceClient(uow_factory, clock, store)
    revoked = await revoke(admin, client.client_id)
    assert revoked.revoked_at == NOW and not revoked.is_active
    clock.advance(minutes=5)
    assert (await revoke(admin, client.client_id)).revoked_at == NOW  # the first time stays
    assert await store.revoke("svc_unknown", now=NOW) is None
    with pytest.raises(AuthenticationFailed):
        await authenticate(client.client_id, registered.client_secret)
    assert (await store.get("svc_other")) == other
