"""Google sign-in use cases (the provider is the in-memory fake; the real adapter is
exercised end to end against a local OpenID provider in tests/e2e/identity)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from hduce.application.identity.google import OidcCallback, OidcRedirect
from hduce.application.ports import OidcIdentity
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.events import USER_REGISTERED
from hduce.domain.identity import Role
from tests.unit.identity.support import Kit, registered_via

ADA = OidcIdentity(subject="g-ada", email="Ada@Example.org", email_verified=True, name="Ada L")


async def _consent(kit: Kit, identity: OidcIdentity = ADA) -> tuple[OidcRedirect, str]:
    redirect = await kit.begin_google("10.0.0.1")
    state = parse_qs(urlsplit(redirect.url).query)["state"][0]
    assert state == redirect.state
    return redirect, kit.oidc.consent(state, identity)


async def test_begin_keeps_state_nonce_and_verifier_server_side(kit: Kit) -> None:
    redirect = await kit.begin_google()
    query = parse_qs(urlsplit(redirect.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"]
    assert redirect.browser_binding and redirect.browser_binding != redirect.state
    assert len(kit.cache) == 1
    assert redirect.state.encode() not in next(iter(kit.cache._entries.values()))[0]


async def test_a_new_google_user_becomes_a_patient(kit: Kit) -> None:
    redirect, code = await _consent(kit)
    pair = await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    user = pair.user
    assert (user.email, user.role, user.google_subject, user.password_hash) == (
        "ada@example.org",
        Role.PATIENT,
        "g-ada",
        None,
    )
    assert user.full_name == "Ada L"
    assert (await kit.authenticate(pair.access.token)).user.id == user.id
    assert [
        registered_via(row.event) for row in kit.store.outbox if row.event.type == USER_REGISTERED
    ] == ["google"]
    # Next time the subject finds the same account.
    redirect, code = await _consent(kit)
    again = await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    assert again.user.id == user.id and len(kit.store.users) == 1


@pytest.mark.parametrize(
    ("name", "stored"),
    [("Ada\u202e Lovelace\r\n", "Ada Lovelace"), ("\x1b\u2066 \r\n", "ada")],
)
async def test_control_characters_in_the_google_name_are_dropped(
    kit: Kit, name: str, stored: str
) -> None:
    """Nobody typed it here, so it is not refused: what may not be stored is left out
    (and an empty name falls back to the email's local part)."""
    redirect, code = await _consent(kit, OidcIdentity("g-ada", "ada@example.org", True, name))
    pair = await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    assert pair.user.full_name == stored


async def test_a_verified_email_links_the_existing_account(kit: Kit) -> None:
    existing = await kit.account(Role.DOCTOR, "ada@example.org")
    earlier = await kit.sign_in("ada@example.org")
    redirect, code = await _consent(kit)
    pair = await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    assert pair.user.id == existing.id and pair.user.role is Role.DOCTOR
    assert kit.store.users[existing.id].google_subject == "g-ada"
    # Sessions opened before the link are closed (pre-hijack protection).
    record = await kit.refresh_store.find(hash_opaque_token(earlier.refresh_token))
    assert record is not None and record.revoked_at is not None
    assert (await kit.sign_in("ada@example.org")).user.id == existing.id  # password still works


async def test_an_account_linked_to_another_subject_is_refused(kit: Kit) -> None:
    redirect, code = await _consent(kit)
    await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    impostor = OidcIdentity(subject="g-other", email="ada@example.org", email_verified=True)
    redirect, code = await _consent(kit, impostor)
    with pytest.raises(AuthenticationFailed, match="another Google account"):
        await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))


async def test_unverified_emails_are_refused(kit: Kit) -> None:
    unverified = OidcIdentity(subject="g-x", email="x@example.org", email_verified=False)
    redirect, code = await _consent(kit, unverified)
    with pytest.raises(AuthenticationFailed, match="not verified"):
        await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    assert not kit.store.users


async def test_state_is_single_use_and_bound_to_the_browser(kit: Kit) -> None:
    redirect, code = await _consent(kit)
    with pytest.raises(AuthenticationFailed, match="another browser"):
        await kit.complete_google(OidcCallback(code, redirect.state, "someone-elses-cookie"))
    with pytest.raises(AuthenticationFailed, match="expired or was used"):  # consumed anyway
        await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    with pytest.raises(AuthenticationFailed):
        await kit.complete_google(OidcCallback(code, "forged-state", redirect.browser_binding))


async def test_state_expires(kit: Kit) -> None:
    redirect, code = await _consent(kit)
    kit.advance(minutes=11)
    with pytest.raises(AuthenticationFailed, match="expired"):
        await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))


async def test_deactivated_accounts_cannot_sign_in_with_google(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    redirect, code = await _consent(kit)
    pair = await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
    await kit.set_active(admin.actor, pair.user.id, False)
    redirect, code = await _consent(kit)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await kit.complete_google(OidcCallback(code, redirect.state, redirect.browser_binding))
