"""The ``SecondFactorStore`` contract, run on the in-memory store (unit) and on the SQL
store on PostgreSQL and SQLite (tests/integration/identity/test_sql_second_factor.py).

A subclass provides two fixtures: ``store`` and ``new_user`` (``async () -> UUID``: an
account the store may reference; SQL has foreign keys to ``users``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hduce.application.ports.second_factor import SecondFactorStore
from hduce.domain.ids import uuid7
from hduce.domain.second_factor import hash_recovery_code, new_recovery_codes

NewUser = Callable[[], Awaitable[UUID]]
T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


async def confirmed(store: SecondFactorStore, user_id: UUID, *, step: int = 100) -> list[str]:
    """An authenticator confirmed at ``step``; its recovery codes (as shown)."""
    await store.set_pending(user_id, "v1.sealed-secret", T0)
    codes = new_recovery_codes()
    assert await store.confirm(
        user_id,
        pending_secret="v1.sealed-secret",
        step=step,
        recovery_code_hashes=[hash_recovery_code(code) for code in codes],
        now=T0,
    )
    return codes


class SecondFactorStoreContract:
    async def test_nothing_is_stored_for_a_new_account(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        assert await store.get(await new_user()) is None

    async def test_a_pending_secret_is_not_an_authenticator_and_is_replaced(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        await store.set_pending(user_id, "v1.first", T0)
        await store.set_pending(user_id, "v1.second", T0 + timedelta(minutes=1))
        enrolment = await store.get(user_id)
        assert enrolment is not None and not enrolment.is_active
        assert enrolment.pending_secret == "v1.second"
        assert enrolment.pending_since == T0 + timedelta(minutes=1)
        # No authenticator: no step can be spent.
        assert not await store.use_step(user_id, 1)

    async def test_concurrent_enrolments_leave_one_pending_secret(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        secrets = [f"v1.secret-{n}" for n in range(6)]
        await asyncio.gather(*(store.set_pending(user_id, secret, T0) for secret in secrets))
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.pending_secret in secrets

    async def test_confirming_needs_the_pending_secret_it_checked(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        await store.set_pending(user_id, "v1.pending", T0)
        assert not await store.confirm(
            user_id, pending_secret="v1.other", step=5, recovery_code_hashes=[], now=T0
        )
        codes = await confirmed(store, user_id, step=7)
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.is_active
        assert enrolment.secret == "v1.sealed-secret" and enrolment.pending_secret is None
        assert enrolment.confirmed_at == T0 and enrolment.last_used_step == 7
        assert enrolment.recovery_codes_left == len(codes) == 10
        # Confirmed once: the same pending secret cannot be confirmed again.
        assert not await store.confirm(
            user_id, pending_secret="v1.sealed-secret", step=8, recovery_code_hashes=[], now=T0
        )

    async def test_a_new_pending_secret_leaves_the_authenticator_working(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        old_codes = await confirmed(store, user_id, step=100)
        await store.set_pending(user_id, "v1.new-phone", T0)
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.secret == "v1.sealed-secret"
        assert await store.use_step(user_id, 101)
        new_codes = new_recovery_codes()
        assert await store.confirm(
            user_id,
            pending_secret="v1.new-phone",
            step=102,
            recovery_code_hashes=[hash_recovery_code(code) for code in new_codes],
            now=T0,
        )
        replaced = await store.get(user_id)
        assert replaced is not None and replaced.secret == "v1.new-phone"
        # The old recovery codes went with the old authenticator.
        assert not await store.use_recovery_code(user_id, hash_recovery_code(old_codes[0]), T0)
        assert await store.use_recovery_code(user_id, hash_recovery_code(new_codes[0]), T0)

    async def test_a_step_is_spent_once_and_only_forward(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        await confirmed(store, user_id, step=100)
        assert not await store.use_step(user_id, 100)  # the step that confirmed
        assert await store.use_step(user_id, 101)
        assert not await store.use_step(user_id, 101)  # a replay
        assert not await store.use_step(user_id, 99)  # an older code
        assert await store.use_step(user_id, 103)
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.last_used_step == 103

    async def test_of_concurrent_uses_of_one_step_exactly_one_wins(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        await confirmed(store, user_id, step=100)
        won = await asyncio.gather(*(store.use_step(user_id, 101) for _ in range(8)))
        assert sorted(won) == [False] * 7 + [True]

    async def test_a_recovery_code_works_once(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id, other = await new_user(), await new_user()
        codes = await confirmed(store, user_id)
        await confirmed(store, other)
        code_hash = hash_recovery_code(codes[3])
        # Another account's code is no good here.
        assert not await store.use_recovery_code(other, code_hash, T0)
        won = await asyncio.gather(
            *(store.use_recovery_code(user_id, code_hash, T0) for _ in range(6))
        )
        assert sorted(won) == [False] * 5 + [True]
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.recovery_codes_left == 9
        assert not await store.use_recovery_code(user_id, hash_recovery_code("a" * 16), T0)

    async def test_removing_forgets_the_authenticator_and_its_codes(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        codes = await confirmed(store, user_id)
        assert await store.remove(user_id)
        assert await store.get(user_id) is None
        assert not await store.use_recovery_code(user_id, hash_recovery_code(codes[0]), T0)
        assert not await store.remove(user_id)
        # Enrolling again starts from nothing.
        again = await confirmed(store, user_id)
        enrolment = await store.get(user_id)
        assert enrolment is not None and enrolment.recovery_codes_left == len(again)

    async def test_sessions_are_marked_once(
        self, store: SecondFactorStore, new_user: NewUser
    ) -> None:
        user_id = await new_user()
        session_id = uuid7()
        assert not await store.is_session_marked(session_id)
        await store.mark_session(session_id, user_id, T0)
        await store.mark_session(session_id, user_id, T0 + timedelta(seconds=1))
        assert await store.is_session_marked(session_id)
        assert not await store.is_session_marked(uuid7())
