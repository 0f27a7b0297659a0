"""Accounts: self-registration, admin-created accounts, profile, listing, deactivation."""

from __future__ import annotations

from uuid import uuid4

import pytest

from hduce.application.changes import UNCHANGED
from hduce.application.identity.accounts import (
    REGISTRATION_ATTEMPT_NOTICE,
    WELCOME_NOTICE,
    NewAccount,
    ProfileChanges,
    RegisterCommand,
    RegistrationReceived,
)
from hduce.application.ports import UserQuery
from hduce.domain.credentials import hash_opaque_token
from hduce.domain.errors import (
    AuthenticationFailed,
    BusinessRuleViolation,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from hduce.domain.events import USER_REGISTERED, UserRegistered
from hduce.domain.identity import Actor, Role
from tests.unit.identity.support import PASSWORD, Kit, registered_via


async def test_registration_creates_a_patient_with_an_argon2_hash_and_an_event(kit: Kit) -> None:
    received = await kit.register(
        RegisterCommand(
            email="  Ana@Example.ORG ",
            password=PASSWORD,
            full_name=" Ana Torres ",
            phone="+34600111222",
            timezone="Europe/Madrid",
        )
    )
    assert received == RegistrationReceived("ana@example.org")
    user = kit.user("ana@example.org")
    assert (user.email, user.full_name, user.role) == (
        "ana@example.org",
        "Ana Torres",
        Role.PATIENT,
    )
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert kit.store.users[user.id].timezone == "Europe/Madrid"
    assert user.id in kit.store.patients  # an (empty) patient profile comes with it
    [row] = kit.store.outbox
    assert row.event.type == USER_REGISTERED
    assert row.event.aggregate_id == user.id
    assert row.event.payload == UserRegistered(
        user_id=user.id,
        email="ana@example.org",
        full_name="Ana Torres",
        role=Role.PATIENT,
        via="password",
    )
    # Its owner gets a welcome email (the delivery sweep sends it).
    [welcome] = kit.emails_to(user)
    assert (welcome.type, welcome.title) == ("account.welcome", WELCOME_NOTICE[0])


async def test_registering_a_taken_email_answers_alike_and_tells_the_owner(kit: Kit) -> None:
    """Changed in issue 11: no ``AlreadyExists`` (HTTP 409) any more, which told anyone
    that the address had an account."""
    owner = await kit.patient("ana@example.org")
    received = await kit.register(
        RegisterCommand("ANA@example.org", "another passphrase 42", "Mallory", client_ip="6.6.6.6")
    )
    assert received == RegistrationReceived("ana@example.org")  # what a new one gets
    assert list(kit.store.users.values()) == [owner]  # nothing changed...
    assert len(kit.store.outbox) == 1  # (the first registration's event only)
    # ...but the owner hears of it, by email.
    _welcome, attempt = kit.emails_to(owner)
    assert (attempt.type, attempt.title, attempt.message) == (
        "account.registration_attempted",
        *REGISTRATION_ATTEMPT_NOTICE,
    )
    assert "another passphrase" not in repr(attempt) and "Mallory" not in repr(attempt)
    [audited] = [e for e in kit.store.audit.values() if e.action == "user.registration_attempted"]
    assert (audited.target_id, audited.details) == (str(owner.id), {"client": "6.6.6.6"})
    assert (await kit.sign_in("ana@example.org")).user.id == owner.id  # the old password


async def test_a_taken_email_is_still_checked_like_a_new_one(kit: Kit) -> None:
    await kit.patient("ana@example.org")
    with pytest.raises(InvalidInput) as refused:  # the same refusal as for a free address
        await kit.register(RegisterCommand("ana@example.org", "password123", "Ana"))
    assert refused.value.field == "password"


async def test_a_deactivated_owner_gets_no_email(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    owner = await kit.patient("ana@example.org")
    await kit.set_active(admin.actor, owner.id, False)
    await kit.register(RegisterCommand("ana@example.org", PASSWORD, "Ana"))
    assert [n.type for n in kit.emails_to(owner)] == ["account.welcome"]


async def test_confusable_emails_are_one_account(kit: Kit) -> None:
    user = await kit.patient("ana@example.org")
    received = await kit.register(RegisterCommand("ＡＮＡ@ｅｘａｍｐｌｅ.org", PASSWORD, "Ana"))
    assert received == RegistrationReceived("ana@example.org")
    assert list(kit.store.users) == [user.id]
    assert [n.type for n in kit.emails_to(user)][-1] == "account.registration_attempted"
    assert (await kit.sign_in("ａｎａ@example.org")).user.id == user.id


@pytest.mark.parametrize(
    ("field", "command"),
    [
        ("password", RegisterCommand("ana@example.org", "short", "Ana")),
        ("password", RegisterCommand("ana@example.org", "password123", "Ana")),
        ("email", RegisterCommand("not-an-email", "correct horse battery", "Ana")),
        ("phone", RegisterCommand("ana@example.org", PASSWORD, "Ana", phone="12")),
        ("timezone", RegisterCommand("ana@example.org", PASSWORD, "Ana", timezone="Mars/Base")),
        ("full_name", RegisterCommand("ana@example.org", PASSWORD, "   ")),
    ],
)
async def test_registration_validates_input(kit: Kit, field: str, command: RegisterCommand) -> None:
    with pytest.raises(InvalidInput) as refused:
        await kit.register(command)
    assert refused.value.field == field
    assert not kit.store.users and not kit.store.outbox


NAMES_WITH_CONTROLS = ["Ana\r\nBcc: all@example.org", "Ana\x1b[31m", "Ana \u202eTorres"]


@pytest.mark.parametrize("name", NAMES_WITH_CONTROLS)
async def test_names_with_control_characters_are_refused_wherever_they_enter(
    kit: Kit, name: str
) -> None:
    """Names are read out in emails and SMS: no line breaks, no ESC, no bidi overrides."""
    with pytest.raises(InvalidInput) as refused:
        await kit.register(RegisterCommand("ana@example.org", PASSWORD, name))
    assert refused.value.field == "full_name"
    assert not kit.store.users and not kit.store.notifications
    with pytest.raises(InvalidInput) as refused:
        await kit.account(Role.DOCTOR, "house@example.org", name=name)
    assert refused.value.field == "full_name"
    user = await kit.patient()
    with pytest.raises(InvalidInput) as refused:
        await kit.update_profile(user.actor, ProfileChanges(full_name=name))
    assert refused.value.field == "full_name"
    assert kit.user("ana@example.org").full_name == "Ana Torres"


async def test_only_admins_and_the_system_create_accounts(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    doctor = await kit.create_account(
        admin.actor,
        NewAccount(email="house@example.org", full_name="Dr House", role=Role.DOCTOR),
    )
    assert doctor.role is Role.DOCTOR and doctor.password_hash is None
    assert doctor.id not in kit.store.patients
    patient = await kit.patient()
    with pytest.raises(PermissionDenied):
        await kit.create_account(
            patient.actor, NewAccount(email="x@example.org", full_name="X", role=Role.DOCTOR)
        )
    with pytest.raises(InvalidInput):
        await kit.create_account(
            admin.actor, NewAccount(email="s@example.org", full_name="S", role=Role.SYSTEM)
        )
    with pytest.raises(InvalidInput):
        await kit.create_account(
            admin.actor,
            NewAccount(email="w@example.org", full_name="W", role=Role.DOCTOR, password="weak"),
        )
    events = [row.event for row in kit.store.outbox]
    assert [registered_via(e) for e in events] == ["admin", "admin", "password"]
    assert any(entry.action == "user.created" for entry in kit.store.audit.values())


async def test_create_account_can_join_the_callers_unit_of_work(kit: Kit) -> None:
    async with kit.uow_factory() as uow:
        user = await kit.create_account(
            Actor.system(),
            NewAccount(email="doc@example.org", full_name="Doc", role=Role.DOCTOR),
            uow=uow,
        )
        assert user.id not in kit.store.users  # not committed yet
    assert user.id not in kit.store.users  # rolled back with the caller's unit of work


async def test_profile_updates_only_what_was_sent(kit: Kit) -> None:
    await kit.register(RegisterCommand("ana@example.org", PASSWORD, "Ana", phone="+34600111222"))
    user = kit.user("ana@example.org")
    updated = await kit.update_profile(
        user.actor, ProfileChanges(full_name=" Ana María ", timezone="America/Guayaquil")
    )
    assert (updated.full_name, updated.timezone, updated.phone) == (
        "Ana María",
        "America/Guayaquil",
        "+34600111222",
    )
    cleared = await kit.update_profile(user.actor, ProfileChanges(phone=None, sms_opt_out=True))
    assert cleared.phone is None and cleared.sms_opt_out and cleared.full_name == "Ana María"
    assert (await kit.get_me(user.actor)).phone is None
    with pytest.raises(InvalidInput):
        await kit.update_profile(user.actor, ProfileChanges(timezone="Nowhere/City"))
    unchanged = await kit.update_profile(user.actor, ProfileChanges(full_name=UNCHANGED))
    assert unchanged.full_name == "Ana María"


async def test_admins_list_and_filter_accounts(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org", name="Root")
    await kit.account(Role.DOCTOR, "house@example.org", name="Gregory House")
    await kit.patient("ana@example.org")
    doctors = await kit.list_users(admin.actor, UserQuery(role=Role.DOCTOR))
    assert [u.email for u in doctors.items] == ["house@example.org"]
    found = await kit.list_users(admin.actor, UserQuery(search="HOUSE"))
    assert found.total == 1
    with pytest.raises(PermissionDenied):
        await kit.list_users(doctors.items[0].actor, UserQuery())


async def test_deactivation_blocks_login_and_kills_tokens(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    pair = await kit.sign_in()
    assert (await kit.authenticate(pair.access.token)).user.id == patient.id

    await kit.set_active(admin.actor, patient.id, False)

    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await kit.authenticate(pair.access.token)
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(pair.refresh_token)
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await kit.sign_in()
    record = await kit.refresh_store.find(hash_opaque_token(pair.refresh_token))
    assert record is not None and record.revoked_at is not None
    # Reactivated: signs in again (the old session stays closed).
    await kit.set_active(admin.actor, patient.id, True)
    assert (await kit.sign_in()).user.id == patient.id
    with pytest.raises(AuthenticationFailed):
        await kit.refresh(pair.refresh_token)


async def test_reactivation_does_not_revive_tokens_issued_before_the_deactivation(
    kit: Kit,
) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    before = await kit.sign_in()
    kit.advance(seconds=30)
    await kit.set_active(admin.actor, patient.id, False)
    kit.advance(seconds=30)
    await kit.set_active(admin.actor, patient.id, True)
    # The old access token is still within its 15 minutes, and the account is active:
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await kit.authenticate(before.access.token)
    after = await kit.sign_in()
    assert (await kit.authenticate(after.access.token)).user.id == patient.id
    # Reactivating (or deactivating) twice changes nothing more.
    await kit.set_active(admin.actor, patient.id, True)
    assert (await kit.authenticate(after.access.token)).user.id == patient.id


async def test_tokens_of_the_second_of_deactivation_are_refused_too(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    kit.advance(seconds=0.75)  # tokens say "issued at" in whole seconds
    same_second = await kit.sign_in()
    kit.advance(seconds=0.2)
    await kit.set_active(admin.actor, patient.id, False)
    await kit.set_active(admin.actor, patient.id, True)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        await kit.authenticate(same_second.access.token)
    kit.advance(seconds=0.05)  # the next second: new tokens work
    assert (await kit.authenticate((await kit.sign_in()).access.token)).user.id == patient.id


async def test_set_active_rules(kit: Kit) -> None:
    admin = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    with pytest.raises(PermissionDenied):
        await kit.set_active(patient.actor, admin.id, False)
    with pytest.raises(BusinessRuleViolation):
        await kit.set_active(admin.actor, admin.id, False)
    with pytest.raises(NotFound):
        await kit.set_active(admin.actor, uuid4(), False)
