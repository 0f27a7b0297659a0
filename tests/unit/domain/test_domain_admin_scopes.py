"""Admins scoped to an institution (ADR 0026): ``AdminScope`` and the actor's scope."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.identity import GLOBAL_SCOPE, Actor, AdminScope, Role, User
from hduce.domain.ids import uuid7

PLACE = UUID("01b702b4-1810-7a55-9e3c-2d7b1f8a4c60")
OTHER_PLACE = UUID("01b702b4-1810-7a55-9e3c-2d7b1f8a4c61")
places = st.sampled_from([PLACE, OTHER_PLACE, None]) | st.uuids()


def test_a_global_admin_may_act_on_every_institution_and_the_whole_clinic() -> None:
    assert GLOBAL_SCOPE.is_global
    assert GLOBAL_SCOPE.allows(PLACE) and GLOBAL_SCOPE.allows(OTHER_PLACE)
    assert GLOBAL_SCOPE.allows(None)
    assert GLOBAL_SCOPE.restrict(None) is None and GLOBAL_SCOPE.restrict(PLACE) == PLACE


def test_a_scoped_admin_may_act_only_on_their_institution() -> None:
    scope = AdminScope(PLACE)
    assert not scope.is_global
    assert scope.allows(PLACE)
    assert not scope.allows(OTHER_PLACE)
    assert not scope.allows(None)  # the whole clinic, or what belongs to no place
    assert scope.restrict(None) == PLACE  # figures without a place: theirs
    assert scope.restrict(PLACE) == PLACE
    assert scope.restrict(OTHER_PLACE) is None  # refused


@given(scoped_to=places, asked=places)
def test_restrict_and_allows_agree(scoped_to: UUID | None, asked: UUID | None) -> None:
    """What a scope restricts a figure to is always a place it allows (for a scoped
    admin: their own), and asking for an allowed place gets exactly that place."""
    scope = AdminScope(scoped_to)
    restricted = scope.restrict(asked)
    if scope.is_global:
        assert restricted == asked and scope.allows(asked)
        return
    if restricted is not None:
        assert restricted == scoped_to and scope.allows(restricted)
    if scope.allows(asked):
        assert restricted == asked
    assert (restricted is None) == (asked is not None and asked != scoped_to)


@given(scoped_to=places)
def test_the_actor_carries_the_scope(scoped_to: UUID | None) -> None:
    actor = Actor(Role.ADMIN, uuid7(), scoped_to)
    assert actor.scope == AdminScope(scoped_to)
    assert actor.scope.is_global is (scoped_to is None)


def test_only_admins_are_scoped() -> None:
    assert Actor(Role.DOCTOR, uuid7()).scope is GLOBAL_SCOPE
    with pytest.raises(ValueError, match="only an admin"):
        Actor(Role.DOCTOR, uuid7(), PLACE)
    with pytest.raises(InvalidInput, match="only an admin"):
        _user(Role.PATIENT, admin_institution_id=PLACE)
    with pytest.raises(InvalidInput, match="only an admin"):
        _user(Role.DOCTOR).scope_to(PLACE)


def test_scoping_an_admin_account_reaches_its_actor() -> None:
    admin = _user(Role.ADMIN)
    assert admin.actor.scope.is_global
    assert admin.scope_to(PLACE) is True
    assert admin.scope_to(PLACE) is False  # already
    assert admin.actor == Actor(Role.ADMIN, admin.id, PLACE)
    assert admin.scope_to(None) is True
    assert admin.actor.scope is GLOBAL_SCOPE


def _user(role: Role, **fields: object) -> User:
    return User(
        id=uuid7(),
        email="someone@example.org",
        full_name="Someone",
        role=role,
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )
