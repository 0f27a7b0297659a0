"""Emailed links as use cases (in memory): the reset request does the same for any
address, a token wins once under concurrency, and a verification proves only the
address it was sent to."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from hduce.adapters.memory.sessions import InMemorySessionStore
from hduce.application.identity.devices import SessionCloser
from hduce.application.identity.email_links import (
    PasswordResetCommand,
    RequestPasswordReset,
    ResetPassword,
    ResetPasswordCommand,
    VerifyEmail,
)
from hduce.domain.errors import AuthenticationFailed, LinkGone, LinkRefused
from hduce.domain.identity import Role
from tests.unit.identity.support import NOW, Kit

NEW_PASSWORD = "a brand new passphrase 7"
_TOKEN = re.compile(r"\?token=([A-Za-z0-9_-]+)")


def _token(body: str) -> str:
    found = _TOKEN.search(body)
    assert found is not None, body
    return found.group(1)


def _request(kit: Kit) -> RequestPasswordReset:
    return RequestPasswordReset(kit.uow_factory, kit.clock, kit.limiter, kit.links, kit.policy)


def _reset(kit: Kit) -> ResetPassword:
    sessions = InMemorySessionStore(kit.refresh_store)
    return ResetPassword(
        kit.uow_factory,
        kit.clock,
        kit.hasher,
        kit.links,
        kit.account_tokens,
        kit.refresh_store,
        kit.accounts,
        sessions,
        SessionCloser(kit.refresh_store, sessions, kit.denylist, kit.policy),
        kit.policy,
    )


async def test_any_address_gets_the_same_work_and_only_an_active_account_a_link(
    kit: Kit,
) -> None:
    ana = await kit.patient("ana@example.org")
    gone = await kit.account(Role.PATIENT, "gone@example.org")
    await kit.set_active((await kit.account(Role.ADMIN, "root@example.org")).actor, gone.id, False)
    kit.link_mailer.sent.clear()
    request = _request(kit)
    for email in ("ANA@example.org", "nobody@example.org", "gone@example.org", "no-address"):
        assert await request(PasswordResetCommand(email, client_ip="10.0.0.9")) is None

    [(to, subject, body)] = kit.link_mailer.sent
    assert (to, subject) == (ana.email, "Reset your password")
    assert f"{kit.policy.public_url}/reset-password?token=" in body
    audited = [e for e in kit.store.audit.values() if e.action == "auth.password_reset_requested"]
    assert [e.details["sent"] for e in audited] == [True, False, False, False]


async def test_two_concurrent_resets_with_one_link_one_wins(kit: Kit) -> None:
    ana = await kit.patient()
    await _request(kit)(PasswordResetCommand(ana.email))
    token = _token(kit.link_mailer.sent[-1][2])
    reset = _reset(kit)
    outcomes = await asyncio.gather(
        *(reset(ResetPasswordCommand(token, NEW_PASSWORD + str(n))) for n in range(5)),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, LinkGone) and o.code == "token-used" for o in outcomes if o)
    changed = [r for r in kit.store.outbox if r.event.type == "user.password_changed"]
    assert len(changed) == 1  # its account notices say "your password was changed"


async def test_a_verification_proves_only_the_address_it_was_sent_to(kit: Kit) -> None:
    ana = await kit.patient()
    token = _token(kit.link_mailer.sent[-1][2])
    # The address changed since the link was sent (by hand: no route changes it today).
    kit.store.users[ana.id] = replace(kit.user(ana.email), email="other@example.org")
    with pytest.raises(LinkRefused):
        await VerifyEmail(kit.uow_factory, kit.clock, kit.links)(token)
    assert not kit.user("other@example.org").email_verified


async def test_a_sign_in_in_the_second_of_a_reset_gets_a_token_that_works(kit: Kit) -> None:
    # The reset bars every token issued until the next whole second (JWT ``iat`` is in
    # seconds); a sign-in 200 ms later must still get a token its own reset does not
    # refuse, and a second revocation in that same second must refuse that token.
    kit.clock.set(NOW.replace(microsecond=300_000))
    ana = await kit.patient()
    await _request(kit)(PasswordResetCommand(ana.email))
    await _reset(kit)(ResetPasswordCommand(_token(kit.link_mailer.sent[-1][2]), NEW_PASSWORD))
    kit.advance(seconds=0.2)

    pair = await kit.sign_in(password=NEW_PASSWORD)

    assert (await kit.authenticate(pair.access.token)).user.id == ana.id
    admin = await kit.account(Role.ADMIN, "root@example.org")
    await kit.set_active(admin.actor, ana.id, False)
    await kit.set_active(admin.actor, ana.id, True)
    with pytest.raises(AuthenticationFailed):
        await kit.authenticate(pair.access.token)
    kit.advance(seconds=0.1)
    again = await kit.sign_in(password=NEW_PASSWORD)
    assert (await kit.authenticate(again.access.token)).user.id == ana.id
