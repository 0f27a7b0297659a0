"""The identity fakes behave like the real adapters where use cases can tell."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from hduce.adapters.memory import InMemoryRefreshTokenStore, InMemoryTokenDenylist
from hduce.application.ports import OidcIdentity
from hduce.domain.errors import AlreadyExists, AuthenticationFailed
from hduce.domain.identity import Role
from tests.fakes import FakeAccessTokens, FakeOidcProvider, FakePasswordHasher, FixedClock
from tests.unit.adapters.contract import refresh_record


async def test_password_hasher() -> None:
    hasher = FakePasswordHasher()
    first = await hasher.hash("correct horse battery staple")
    second = await hasher.hash("correct horse battery staple")
    assert first != second  # salted
    assert await hasher.verify(first, "correct horse battery staple")
    assert not await hasher.verify(first, "Correct horse battery staple")
    assert not await hasher.verify("garbage", "anything")
    assert not hasher.needs_rehash(first)
    assert FakePasswordHasher("fake2").needs_rehash(first)


def test_access_tokens(clock: FixedClock) -> None:
    tokens = FakeAccessTokens(ttl=timedelta(minutes=10))
    user, session = UUID(int=1), UUID(int=2)
    issued = tokens.issue(user_id=user, role=Role.DOCTOR, now=clock.now(), session_id=session)
    assert issued.expires_in == 600
    claims = tokens.verify(issued.token, now=clock.now())
    assert (claims.user_id, claims.role, claims.jti, claims.session_id) == (
        user,
        Role.DOCTOR,
        issued.jti,
        session,
    )
    with pytest.raises(AuthenticationFailed):
        tokens.verify(issued.token, now=clock.now() + timedelta(minutes=10))
    with pytest.raises(AuthenticationFailed):
        tokens.verify("forged", now=clock.now())


async def test_oidc_provider_checks_code_pkce_and_nonce() -> None:
    provider = FakeOidcProvider()
    url = await provider.authorization_url(state="s1", nonce="n1", code_verifier="v" * 43)
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["s1"] and query["code_challenge_method"] == ["S256"]
    code = provider.consent("s1")
    with pytest.raises(AuthenticationFailed):
        await provider.exchange_and_verify(code=code, code_verifier="w" * 43, nonce="n1")
    with pytest.raises(AuthenticationFailed):  # a code works once, even after a failure
        await provider.exchange_and_verify(code=code, code_verifier="v" * 43, nonce="n1")

    await provider.authorization_url(state="s2", nonce="n2", code_verifier="x" * 43)
    someone = OidcIdentity(subject="g-2", email="bob@example.org", email_verified=False)
    code = provider.consent("s2", someone)
    with pytest.raises(AuthenticationFailed):
        await provider.exchange_and_verify(code=code, code_verifier="x" * 43, nonce="other")

    await provider.authorization_url(state="s3", nonce="n3", code_verifier="y" * 43)
    code = provider.consent("s3", someone)
    assert await provider.exchange_and_verify(code=code, code_verifier="y" * 43, nonce="n3") == (
        someone
    )


async def test_refresh_store_refuses_duplicate_hashes(clock: FixedClock) -> None:
    store = InMemoryRefreshTokenStore()
    record = refresh_record(clock.now())
    await store.issue(record)
    with pytest.raises(AlreadyExists):
        await store.issue(record)
    assert len(store) == 1


async def test_denylist_keeps_the_latest_expiry(clock: FixedClock) -> None:
    denylist = InMemoryTokenDenylist(clock)
    await denylist.deny("k", clock.now() + timedelta(seconds=60))
    await denylist.deny("k", clock.now() + timedelta(seconds=10))  # never shortens
    clock.advance(seconds=30)
    assert await denylist.is_denied("k")
    clock.advance(seconds=31)
    assert not await denylist.is_denied("k")
