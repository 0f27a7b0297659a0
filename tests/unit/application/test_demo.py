"""``SeedDemo``: readable ASCII emails for accented names, and every account reported."""

from __future__ import annotations

import pytest

from hduce.adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from hduce.application.demo import DEMO_ADMIN_EMAIL, SeedDemo, _email
from hduce.domain.identity import Role
from tests.fakes import FakePasswordHasher, FixedClock, SequentialIdGenerator
from tests.unit.application.support import NOW, POLICY


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Ana García", "ana.garcia@demo.hduce.local"),
        ("Nuñez", "nunez@demo.hduce.local"),
        ("Óscar", "oscar@demo.hduce.local"),
        ("Dr. Lucía Romero", "lucia.romero@demo.hduce.local"),
        ("Jorge López", "jorge.lopez@demo.hduce.local"),
        ("Maya Chen", "maya.chen@demo.hduce.local"),
    ],
)
def test_demo_emails_transliterate_accented_letters(name: str, email: str) -> None:
    assert _email(name) == email


def test_a_name_with_no_latin_letter_still_gets_an_address() -> None:
    assert _email("李") == "user@demo.hduce.local"


async def test_the_summary_lists_every_account_with_its_role() -> None:
    store = InMemoryStore()
    clock = FixedClock(NOW)
    seed = SeedDemo(
        InMemoryUnitOfWorkFactory(store, clock),
        clock,
        SequentialIdGenerator(),
        FakePasswordHasher(),
        POLICY,
    )

    summary = await seed("demo-password-1")

    assert summary.created
    stored = {(user.email, user.role) for user in store.users.values()}
    assert {(user.email, user.role) for user in summary.accounts} == stored
    assert len(summary.accounts) == len(stored) == 8
    roles = [user.role for user in summary.accounts]
    assert (roles.count(Role.ADMIN), roles.count(Role.DOCTOR), roles.count(Role.PATIENT)) == (
        1,
        3,
        4,
    )
    assert DEMO_ADMIN_EMAIL in {user.email for user in summary.accounts}
    assert all(user.email.isascii() for user in summary.accounts)
    assert "ana.garcia@demo.hduce.local" in {user.email for user in summary.accounts}

    again = await seed("demo-password-1")
    assert not again.created and again.accounts == ()
