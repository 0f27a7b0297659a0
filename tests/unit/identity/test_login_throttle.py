"""Login throttling that strangers cannot turn into a lockout: per client, per account
and client, and a soft per-account brake that the owner's clean client passes."""

from __future__ import annotations

import logging

import pytest

from hduce.application.identity.policy import IdentityPolicy, RateRule
from hduce.application.identity.sessions import LoginCommand
from hduce.domain.errors import AuthenticationFailed, RateLimited
from tests.unit.identity.support import PASSWORD, Kit, policy

#: The production rules (the default ``IdentityPolicy``), not the tests' generous ones.
DEFAULTS = IdentityPolicy()
WRONG = "wrong password, not the right one"


def production_kit(**overrides: RateRule) -> Kit:
    rules = {
        "login_per_ip": DEFAULTS.login_per_ip,
        "login_per_account_client": DEFAULTS.login_per_account_client,
        "login_per_account": DEFAULTS.login_per_account,
        **overrides,
    }
    return Kit(policy=policy(**rules))


async def attempt(kit: Kit, client: str, password: str, email: str = "ana@example.org") -> str:
    """``"ok"``, ``"401"`` or ``"429"``."""
    try:
        await kit.login(LoginCommand(email, password, client_ip=client))
    except AuthenticationFailed:
        return "401"
    except RateLimited:
        return "429"
    return "ok"


async def test_fifty_failures_from_elsewhere_do_not_lock_the_owner_out() -> None:
    kit = production_kit()
    await kit.patient()
    attackers = [f"203.0.113.{n}" for n in range(50)]
    assert [await attempt(kit, client, WRONG) for client in attackers] == ["401"] * 50
    # The account cools down: a client that failed on it may not try again for now...
    assert {await attempt(kit, client, PASSWORD) for client in attackers} == {"429"}
    # ...but the owner's own client, which never failed, signs in.
    assert await attempt(kit, "198.51.100.7", PASSWORD) == "ok"


async def test_a_guessing_client_is_throttled_on_that_account_only() -> None:
    kit = production_kit()
    await kit.patient()
    await kit.patient("bob@example.org")
    for _ in range(DEFAULTS.login_per_account_client.limit):
        assert await attempt(kit, "203.0.113.9", WRONG) == "401"
    with pytest.raises(RateLimited) as limited:  # the right password does not help now
        await kit.login(LoginCommand("ANA@example.org", PASSWORD, client_ip="203.0.113.9"))
    assert limited.value.retry_after_seconds == DEFAULTS.login_per_account_client.window_seconds
    assert await attempt(kit, "203.0.113.9", PASSWORD, "bob@example.org") == "ok"
    kit.advance(seconds=DEFAULTS.login_per_account_client.window_seconds)
    assert await attempt(kit, "203.0.113.9", PASSWORD) == "ok"


async def test_a_cooling_account_admits_only_clients_without_failures() -> None:
    kit = production_kit(login_per_account=RateRule(3, 600))
    await kit.patient()
    assert await attempt(kit, "192.0.2.1", WRONG) == "401"  # the owner mistyped, once
    kit.advance(seconds=60)
    for client in ("203.0.113.1", "203.0.113.2"):
        assert await attempt(kit, client, WRONG) == "401"  # the third failure: brake on
    # Every client that failed on the account waits, the owner's too...
    with pytest.raises(RateLimited) as limited:
        await kit.login(LoginCommand("ana@example.org", PASSWORD, client_ip="192.0.2.1"))
    # ...until the cool-down frees a place (the first failure leaves the window).
    assert limited.value.retry_after_seconds == 600 - 60
    assert await attempt(kit, "203.0.113.1", PASSWORD) == "429"
    # A client without failures still has its password checked: one guess, then it waits.
    assert await attempt(kit, "203.0.113.3", WRONG) == "401"
    assert await attempt(kit, "203.0.113.3", PASSWORD) == "429"
    assert await attempt(kit, "192.0.2.2", PASSWORD) == "ok"
    kit.advance(seconds=600 - 60)
    assert await attempt(kit, "192.0.2.1", PASSWORD) == "ok"


async def test_signing_in_forgives_the_clients_earlier_failures() -> None:
    kit = production_kit(login_per_account=RateRule(2, 600))
    await kit.patient()
    assert await attempt(kit, "192.0.2.1", WRONG) == "401"
    assert await attempt(kit, "192.0.2.1", PASSWORD) == "ok"
    assert await attempt(kit, "203.0.113.1", WRONG) == "401"  # brake on (two failures)
    assert await attempt(kit, "192.0.2.1", PASSWORD) == "ok"


async def test_unknown_emails_are_throttled_exactly_like_known_ones() -> None:
    kit = production_kit(login_per_account=RateRule(2, 600))
    await kit.patient()
    for email in ("ana@example.org", "ghost@example.org"):
        outcomes = [
            await attempt(kit, "203.0.113.1", WRONG, email),
            await attempt(kit, "203.0.113.2", WRONG, email),
            await attempt(kit, "203.0.113.1", WRONG, email.upper()),
            await attempt(kit, "203.0.113.3", WRONG, email),
        ]
        assert outcomes == ["401", "401", "429", "401"], email


async def test_every_spelling_of_an_email_counts_against_the_same_account() -> None:
    kit = production_kit()
    await kit.patient()
    spellings = ["ana@example.org", "ANA@example.org", "ａｎａ@example.org", "Ａna@example.org"]
    for n in range(DEFAULTS.login_per_account_client.limit):
        email = spellings[n % len(spellings)]
        assert await attempt(kit, "203.0.113.9", WRONG, email) == "401"
    assert await attempt(kit, "203.0.113.9", PASSWORD, "ａｎａ@ｅｘａｍｐｌｅ.ｏｒｇ") == "429"


async def test_every_client_has_an_attempt_budget_across_accounts() -> None:
    kit = production_kit(login_per_ip=RateRule(3, 60))
    await kit.patient()
    for n in range(3):
        assert await attempt(kit, "203.0.113.1", WRONG, f"x{n}@example.org") == "401"
    with pytest.raises(RateLimited) as limited:
        await kit.login(LoginCommand("ana@example.org", PASSWORD, client_ip="203.0.113.1"))
    assert limited.value.retry_after_seconds == 60
    assert await attempt(kit, "203.0.113.2", PASSWORD) == "ok"


async def test_the_brake_engaging_is_audited_and_logged_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kit = production_kit(login_per_account=RateRule(6, 600))
    user = await kit.patient()
    caplog.set_level(logging.WARNING, logger="hduce.security")
    for n in range(8):
        assert await attempt(kit, f"203.0.113.{n}", WRONG) == "401"
    entries = [e for e in kit.store.audit.values() if e.action == "auth.login_throttled"]
    assert len(entries) == 1  # once per fill, not once per attempt past it
    [entry] = entries
    assert (entry.target_type, entry.target_id) == ("user", str(user.id))
    assert entry.details["scope"] == "account" and entry.details["client"] == "203.0.113.5"
    assert (entry.details["limit"], entry.details["window_seconds"]) == (6, 600)
    [line] = [r.getMessage() for r in caplog.records if "auth.login_throttled" in r.getMessage()]
    assert "account" in line and "203.0.113.5" in line and str(user.id) in line
    for text in (repr(entry), line):
        assert WRONG not in text and PASSWORD not in text
    # A guessing client filling its budget on an account (unknown here) is audited too.
    for _ in range(DEFAULTS.login_per_account_client.limit):
        assert await attempt(kit, "192.0.2.66", WRONG, "ghost@example.org") == "401"
    assert await attempt(kit, "192.0.2.66", WRONG, "ghost@example.org") == "429"
    scopes = sorted(
        (e.details["scope"], e.target_type, e.details["client"])
        for e in kit.store.audit.values()
        if e.action == "auth.login_throttled"
    )
    assert scopes == [
        ("account", "user", "203.0.113.5"),
        ("account_client", "account", "192.0.2.66"),
    ]
