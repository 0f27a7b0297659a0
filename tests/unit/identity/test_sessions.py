"""Sessions: login, refresh rotation with reuse detection, logout, authentication,
rate limits and enumeration safety."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hduce.adapters.security.passwords import Argon2Parameters
from hduce.application.identity.accounts import RegisterCommand
from hduce.application.identity.policy import INVALID_CREDENTIALS, RateRule
from hduce.application.identity.sessions import (
    LoginCommand,
    LogoutCommand,
    PurgeExpiredRefreshTokens,
)
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.errors import AuthenticationFailed, RateLimited
from hduce.domain.identity import Role
from tests.unit.identity.support import PASSWORD, CountingHasher, Kit, policy


async def test_login_returns_a_working_pair(kit: Kit) -> None:
    user = await kit.patient()
    pair = await kit.sign_in("ANA@example.org")
    assert pair.user.id == user.id and pair.access.expires_in == 15 * 60
    assert pair.refresh_expires_at == kit.clock.now() + timedelta(days=30)
    principal = await kit.authenticate(pair.access.token)
    assert principal.actor.user_id == user.id and principal.actor.role is Role.PATIENT
    assert principal.claims.session_id == pair.session_id
    stored = await kit.refresh_store.find(hash_opaque_token(pair.refresh_token))
    assert stored is not None and stored.family_id == pair.session_id
    assert pair.refresh_token not in repr(kit.refresh_store._tokens)  # only hashes are kept


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ana@example.org", "wrong password!"),
        ("nobody@example.org", PASSWORD),
        ("not an email", PASSWORD),
        ("google-only@example.org", PASSWORD),
    ],
)
async def test_failed_logins_look_the_same_and_cost_the_same(
    kit: Kit, email: str, password: str
) -> None:
    await kit.patient()
    await kit.account(Role.PATIENT, "google-only@example.org", password=None)
    before = kit.hasher.verifications
    with pytest.raises(AuthenticationFailed) as refused:
        await kit.login(LoginCommand(email=email, password=password))
    assert refused.value.message == INVALID_CREDENTIALS
    assert kit.hasher.verifications == before + 1  # a dummy hash when nobody matches


async def test_login_rehashes_when_the_parameters_changed() -> None:
    weak = Kit()
    user = await weak.patient()
    old_hash = weak.store.users[user.id].password_hash
    stronger = Kit(
        store=weak.store, hasher=CountingHasher(Argon2Parameters(time_cost=2, memory_cost_kib=128))
    )
    await stronger.sign_in()
    new_hash = stronger.store.users[user.id].password_hash
    assert new_hash != old_hash and new_hash is not None and "t=2" in new_hash
    await stronger.sign_in()  # and the new hash works
    assert stronger.store.users[user.id].password_hash == new_hash


async def test_refresh_rotates_and_reuse_revokes_the_family(kit: Kit) -> None:
    await kit.patient()
    first = await kit.sign_in()
    kit.advance(minutes=1)
    second = await kit.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    third = await kit.refresh(second.refresh_token)
    assert (await kit.authenticate(third.access.token)).user.id == first.user.id

    # The first token again: someone replays it. The whole session closes.
    with pytest.raises(AuthenticationFailed, match="used already"):
        await kit.refresh(first.refresh_token)
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(third.refresh_token)  # the legitimate holder is out too
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await kit.authenticate(third.access.token)  # and so are its access tokens
    # Other sessions of the same user are untouched.
    other = await kit.sign_in()
    assert (await kit.refresh(other.refresh_token)).user.id == first.user.id


async def test_concurrent_refreshes_with_one_token_one_wins(kit: Kit) -> None:
    await kit.patient()
    pair = await kit.sign_in()
    results = await asyncio.gather(
        *(kit.refresh(pair.refresh_token) for _ in range(3)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, AuthenticationFailed) for r in results if r not in winners)
    with pytest.raises(AuthenticationFailed):  # and the reuse closed the session
        await kit.refresh(winners[0].refresh_token)


@pytest.mark.parametrize("token", ["", "unknown-token", "x" * 1000])
async def test_unknown_refresh_tokens_are_refused(kit: Kit, token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(token)


async def test_refresh_tokens_expire(kit: Kit) -> None:
    await kit.patient()
    pair = await kit.sign_in()
    kit.advance(days=30, seconds=1)
    with pytest.raises(AuthenticationFailed, match="invalid or expired"):
        await kit.refresh(pair.refresh_token)


async def test_access_tokens_expire(kit: Kit) -> None:
    await kit.patient()
    pair = await kit.sign_in()
    kit.advance(minutes=16)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await kit.authenticate(pair.access.token)


async def test_logout_revokes_the_session_and_denies_the_access_token(kit: Kit) -> None:
    await kit.patient()
    pair = await kit.sign_in()
    rotated = await kit.refresh(pair.refresh_token)
    claims = (await kit.authenticate(rotated.access.token)).claims

    await kit.logout(LogoutCommand(claims=claims))  # the access token alone is enough

    for token in (rotated.access.token, pair.access.token):
        with pytest.raises(AuthenticationFailed, match="revoked"):
            await kit.authenticate(token)
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(rotated.refresh_token)
    # The denylist forgets entries once the tokens would have expired anyway.
    kit.advance(minutes=16)
    assert not await kit.denylist.is_denied(f"jti:{claims.jti}")


async def test_logout_with_only_the_refresh_token(kit: Kit) -> None:
    await kit.patient()
    pair = await kit.sign_in()
    await kit.logout(LogoutCommand(refresh_token=pair.refresh_token))
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(pair.refresh_token)
    with pytest.raises(AuthenticationFailed):
        await kit.authenticate(pair.access.token)


async def test_logout_ignores_someone_elses_refresh_token(kit: Kit) -> None:
    await kit.patient("ana@example.org")
    await kit.patient("bob@example.org")
    ana = await kit.sign_in("ana@example.org")
    bob = await kit.sign_in("bob@example.org")
    claims = (await kit.authenticate(ana.access.token)).claims
    await kit.logout(LogoutCommand(claims=claims, refresh_token=bob.refresh_token))
    assert (await kit.refresh(bob.refresh_token)).user.email == "bob@example.org"


async def test_login_is_rate_limited_per_ip_and_per_account() -> None:
    """Per address (every attempt) and per account and address (failures). The
    per-account brake is in ``test_login_throttle.py``."""
    kit = Kit(
        policy=policy(login_per_ip=RateRule(6, 60), login_per_account_client=RateRule(3, 300))
    )
    await kit.patient()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await kit.login(LoginCommand("ana@example.org", "wrong password", client_ip="1.1.1.1"))
    with pytest.raises(RateLimited) as limited:  # that address, on that account
        await kit.login(LoginCommand("ana@example.org", PASSWORD, client_ip="1.1.1.1"))
    assert 1 <= limited.value.retry_after_seconds <= 300
    # Another address is not locked out by those failures (it was before issue 11).
    pair = await kit.login(LoginCommand("ana@example.org", PASSWORD, client_ip="2.2.2.2"))
    assert pair.user.email == "ana@example.org"
    # Unknown accounts are limited exactly the same way (no enumeration through 429s).
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            await kit.login(LoginCommand("ghost@example.org", "whatever!!", client_ip="3.3.3.3"))
    with pytest.raises(RateLimited):
        await kit.login(LoginCommand("ghost@example.org", "whatever!!", client_ip="3.3.3.3"))
    # Per address: six attempts (four so far) on any accounts, then the seventh is refused.
    for n in range(2):
        with pytest.raises(AuthenticationFailed):
            await kit.login(LoginCommand(f"x{n}@example.org", "whatever!!", client_ip="3.3.3.3"))
    with pytest.raises(RateLimited) as limited:
        await kit.login(LoginCommand("y@example.org", "whatever!!", client_ip="3.3.3.3"))
    assert limited.value.retry_after_seconds == 60
    kit.advance(seconds=61)
    with pytest.raises(AuthenticationFailed):
        await kit.login(LoginCommand("y@example.org", "whatever!!", client_ip="3.3.3.3"))


async def test_registration_is_rate_limited_per_ip() -> None:
    kit = Kit(policy=policy(register_per_ip=RateRule(2, 3600)))
    for n in range(2):
        await kit.register(RegisterCommand(f"p{n}@example.org", PASSWORD, "P", client_ip="9.9.9.9"))
    with pytest.raises(RateLimited):
        await kit.register(RegisterCommand("p3@example.org", PASSWORD, "P", client_ip="9.9.9.9"))
    await kit.register(RegisterCommand("p3@example.org", PASSWORD, "P", client_ip="8.8.8.8"))


async def test_refresh_is_rate_limited_per_family() -> None:
    kit = Kit(policy=policy(refresh_per_family=RateRule(2, 60)))
    await kit.patient()
    pair = await kit.sign_in()
    pair = await kit.refresh(pair.refresh_token)
    pair = await kit.refresh(pair.refresh_token)
    with pytest.raises(RateLimited):
        await kit.refresh(pair.refresh_token)
    other = await kit.sign_in()  # another session has its own budget
    await kit.refresh(other.refresh_token)
    kit.advance(seconds=61)
    await kit.refresh(pair.refresh_token)  # the refused attempt did not burn the token


async def test_a_role_change_applies_to_existing_tokens(kit: Kit) -> None:
    user = await kit.patient()
    pair = await kit.sign_in()
    kit.store.users[user.id].role = Role.DOCTOR
    assert (await kit.authenticate(pair.access.token)).actor.role is Role.DOCTOR


async def test_expired_refresh_tokens_are_purged(kit: Kit) -> None:
    await kit.patient()
    old = await kit.sign_in()
    kit.advance(days=20)
    recent = await kit.sign_in()
    kit.advance(days=11)
    purge = PurgeExpiredRefreshTokens(kit.clock, kit.refresh_store)
    assert await purge() == 1
    assert await kit.refresh_store.find(hash_opaque_token(old.refresh_token)) is None
    assert await kit.refresh_store.find(hash_opaque_token(recent.refresh_token)) is not None
