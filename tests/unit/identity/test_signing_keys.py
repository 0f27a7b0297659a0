"""Signing keys kept in the database (ADR 0016), without a database: the schedule that
says which key signs and which verify, the key ring's refusals, and the settings that
choose database keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from hduce.adapters.memory.service_tokens import InMemorySigningKeyStore
from hduce.adapters.security.key_ring import DatabaseAccessTokens, JoseKeyMaker
from hduce.application.identity.signing_keys import (
    EnsureSigningKey,
    KeySchedule,
    ListSigningKeys,
    RotateSigningKeys,
    UnreadableSigningKeys,
)
from hduce.bootstrap.settings import Settings, SettingsError
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Role
from tests.fakes import FixedClock

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
SCHEDULE = KeySchedule(
    retire_after=timedelta(minutes=15, seconds=30), activation_delay=timedelta(minutes=1)
)


class Ring:
    def __init__(self, algorithm: str = "Ed25519") -> None:
        self.clock = FixedClock(NOW)
        self.store = InMemorySigningKeyStore()
        self.maker = JoseKeyMaker(algorithm, None)
        self.rotate = RotateSigningKeys(self.store, self.maker, self.clock, SCHEDULE)
        self.list = ListSigningKeys(self.store, self.clock, SCHEDULE)
        self.tokens = DatabaseAccessTokens(
            store=self.store,
            ensure=EnsureSigningKey(self.store, self.maker, self.clock),
            schedule=SCHEDULE,
            passphrase=None,
            issuer="hduce",
            audience="hduce-api",
            ttl=timedelta(minutes=15),
        )

    def issue(self) -> str:
        return self.tokens.issue(user_id=uuid4(), role=Role.PATIENT, now=self.clock.now()).token


def _header(token: str) -> dict[str, str]:
    segment = token.split(".")[0]
    header: dict[str, str] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return header


async def test_a_key_goes_from_next_to_signing_to_retiring_to_retired() -> None:
    ring = Ring()
    await ring.tokens.load()
    [first] = await ring.list()
    assert (first.generation, first.state, first.retires_at) == (1, "signing", None)

    rotation = await ring.rotate()
    assert rotation.new_key.activates_at == NOW + timedelta(minutes=1)
    assert [(v.generation, v.state) for v in await ring.list()] == [(1, "signing"), (2, "next")]
    ring.clock.advance(minutes=1)
    states = await ring.list()
    assert [(v.generation, v.state) for v in states] == [(1, "retiring"), (2, "signing")]
    assert states[0].retires_at == NOW + timedelta(minutes=16, seconds=30)
    ring.clock.set(NOW + timedelta(minutes=16, seconds=30))
    assert [v.state for v in await ring.list()] == ["retired", "signing"]
    again = await ring.rotate(immediately=True)
    assert again.deleted == [first.kid]
    assert [(v.generation, v.state) for v in await ring.list()] == [
        (2, "retiring"),
        (3, "signing"),
    ]


@pytest.mark.parametrize("algorithm", ["Ed25519", "EdDSA", "ES256", "RS256"])
async def test_tokens_name_their_key_and_verify_with_it_only(algorithm: str) -> None:
    ring = Ring(algorithm)
    await ring.tokens.load()
    before = ring.issue()
    assert _header(before) == {"alg": algorithm, "typ": "at+jwt", "kid": ring.tokens.kids[0]}
    await ring.rotate(immediately=True)
    await ring.tokens.reload()
    after = ring.issue()
    assert _header(after)["kid"] == ring.tokens.kids[1]
    for token in (before, after):
        assert ring.tokens.verify(token, now=ring.clock.now()).role is Role.PATIENT
    assert [key["kid"] for key in ring.tokens.jwks(ring.clock.now())["keys"]] == ring.tokens.kids


async def test_unknown_retired_and_forged_keys_are_refused() -> None:
    ring = Ring()
    await ring.tokens.load()
    token = ring.issue()
    now = ring.clock.now()
    kid = ring.tokens.kids[0]
    claims = jwt.decode(token, ring.tokens._keys[kid], algorithms=["Ed25519"]).claims

    # HS256 "signed" with the public key, or naming no kid or another kid: refused.
    public_secret = json.dumps(ring.tokens.jwks(now)["keys"][0]).encode()
    forged = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims, OctKey.import_key(public_secret)
    )
    other_kid = {**_header(token), "kid": "unknown-kid"}
    segment = base64.urlsafe_b64encode(json.dumps(other_kid).encode()).decode().rstrip("=")
    renamed = ".".join([segment, *token.split(".")[1:]])
    for bad in (forged, "", "garbage", "a.b.c", renamed):
        with pytest.raises(AuthenticationFailed):
            ring.tokens.verify(bad, now=now)
    other = Ring()
    await other.tokens.load()
    with pytest.raises(AuthenticationFailed):
        other.tokens.verify(token, now=now)  # signed by a key the other ring never had

    # After rotation, the old key retires once its last token has expired.
    await ring.rotate(immediately=True)
    await ring.tokens.reload()
    ring.clock.advance(minutes=15, seconds=31)
    assert [key["kid"] for key in ring.tokens.jwks(ring.clock.now())["keys"]] == [
        ring.tokens.kids[1]
    ]


def test_asymmetric_without_key_file_keeps_keys_in_the_database() -> None:
    settings = Settings.from_env({"HDUCE_JWT_ALGORITHM": "ES256"})
    assert settings.auth.jwt_keys_in_database
    assert settings.auth.jwt_key_passphrase is None
    assert settings.auth.jwt_key_reload_interval == timedelta(seconds=30)
    assert settings.summary()["jwt"] == "ES256 (keys in the database)"
    assert not Settings.from_env({}).auth.jwt_keys_in_database


def test_production_database_keys_need_a_passphrase() -> None:
    production = {"HDUCE_ENV": "production", "HDUCE_JWT_ALGORITHM": "Ed25519"}
    with pytest.raises(SettingsError, match=r"^HDUCE_JWT_KEY_PASSPHRASE is unset"):
        Settings.from_env(production)
    with pytest.raises(SettingsError, match=r"^HDUCE_JWT_KEY_PASSPHRASE="):
        Settings.from_env({**production, "HDUCE_JWT_KEY_PASSPHRASE": "short"})
    passphrase = "p" * 40
    settings = Settings.from_env({**production, "HDUCE_JWT_KEY_PASSPHRASE": passphrase})
    assert settings.auth.jwt_key_passphrase is not None
    assert settings.auth.jwt_key_passphrase.reveal() == passphrase
    assert passphrase not in repr(settings)
    with pytest.raises(SettingsError, match=r"^HDUCE_JWT_KEY_RELOAD_INTERVAL="):
        Settings.from_env({"HDUCE_JWT_KEY_RELOAD_INTERVAL": "1h"})


async def test_rotation_refuses_when_the_stored_keys_need_another_passphrase() -> None:
    clock = FixedClock(NOW)
    store = InMemorySigningKeyStore()
    first_passphrase = JoseKeyMaker("Ed25519", "first-passphrase-0123456789abcdef")
    await RotateSigningKeys(store, first_passphrase, clock, SCHEDULE)()
    for other in (JoseKeyMaker("Ed25519", None), JoseKeyMaker("Ed25519", "x" * 40)):
        with pytest.raises(UnreadableSigningKeys, match="HDUCE_JWT_KEY_PASSPHRASE"):
            await RotateSigningKeys(store, other, clock, SCHEDULE)()
    assert len(await store.list_all()) == 1
    await RotateSigningKeys(store, first_passphrase, clock, SCHEDULE)()
    assert len(await store.list_all()) == 2
