"""Setting an admin's institution scope (ADR 0026): global admins only, the new scope
travels with the cached access state (ADR 0010) like a deactivation does."""

from __future__ import annotations

import pytest

from hduce.application.identity.accounts import SetAdminScope
from hduce.domain.errors import BusinessRuleViolation, NotFound, PermissionDenied
from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7
from hduce.domain.institutions import Address, Institution, InstitutionKind
from tests.unit.identity.support import ACCOUNT_CACHE_TTL, Kit
from tests.unit.identity.test_user_access_cache import another_process


def _institution(kit: Kit, name: str) -> Institution:
    institution = Institution(
        id=uuid7(),
        name=name,
        kind=InstitutionKind.HOSPITAL,
        address=Address("Calle Mayor 1", "Madrid", "ES"),
        timezone="Europe/Madrid",
    )
    kit.store.institutions[institution.id] = institution
    return institution


def _set_scope(kit: Kit) -> SetAdminScope:
    return SetAdminScope(kit.uow_factory, kit.clock, kit.accounts)


async def test_a_scope_change_through_another_process_is_seen_within_the_ttl(kit: Kit) -> None:
    root = await kit.account(Role.ADMIN, "root@example.org")
    admin = await kit.account(Role.ADMIN, "north@example.org")
    north = _institution(kit, "Hospital Norte")
    token = (await kit.sign_in("north@example.org")).access.token
    elsewhere, _ = another_process(kit)
    assert (await elsewhere(token)).actor.scope.is_global  # warm in the other process

    stored = await _set_scope(kit)(root.actor, admin.id, north.id)
    assert stored.admin_institution_id == north.id
    assert kit.store.users[admin.id].admin_institution_id == north.id

    assert (await kit.authenticate(token)).actor == Actor(Role.ADMIN, admin.id, north.id)
    assert (await elsewhere(token)).actor.scope.is_global  # its cached state...
    kit.clock.advance(ACCOUNT_CACHE_TTL)
    assert (await elsewhere(token)).actor.institution_id == north.id  # ...for the TTL at most

    await _set_scope(kit)(root.actor, admin.id, None)
    assert (await kit.authenticate(token)).actor.scope.is_global


async def test_only_a_global_admin_scopes_admins(kit: Kit) -> None:
    root = await kit.account(Role.ADMIN, "root@example.org")
    admin = await kit.account(Role.ADMIN, "north@example.org")
    other = await kit.account(Role.ADMIN, "south@example.org")
    north = _institution(kit, "Hospital Norte")
    set_scope = _set_scope(kit)
    await set_scope(root.actor, admin.id, north.id)
    scoped = kit.store.users[admin.id].actor

    with pytest.raises(PermissionDenied):
        await set_scope(scoped, other.id, north.id)
    with pytest.raises(PermissionDenied):
        await set_scope(scoped, other.id, None)
    patient = await kit.patient()
    with pytest.raises(PermissionDenied):
        await set_scope(patient.actor, admin.id, None)
    with pytest.raises(PermissionDenied):  # nor (de)activate another admin
        await kit.set_active(scoped, other.id, False)
    assert kit.store.users[other.id].admin_institution_id is None
    assert kit.store.users[other.id].is_active


async def test_what_cannot_be_scoped(kit: Kit) -> None:
    root = await kit.account(Role.ADMIN, "root@example.org")
    patient = await kit.patient()
    north = _institution(kit, "Hospital Norte")
    set_scope = _set_scope(kit)
    with pytest.raises(BusinessRuleViolation) as refused:
        await set_scope(root.actor, patient.id, north.id)
    assert refused.value.code == "not-an-admin"
    with pytest.raises(BusinessRuleViolation) as refused:
        await set_scope(root.actor, root.id, north.id)
    assert refused.value.code == "self-scope"
    admin = await kit.account(Role.ADMIN, "north@example.org")
    with pytest.raises(NotFound):
        await set_scope(root.actor, admin.id, uuid7())
    with pytest.raises(NotFound):
        await set_scope(root.actor, uuid7(), north.id)
