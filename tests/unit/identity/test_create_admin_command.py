"""``hduce create-admin``: prompts (never a default password), policy, duplicates."""

from __future__ import annotations

import asyncio
import os

import pytest
from click.testing import CliRunner
from dishka import AsyncContainer, Provider, Scope, make_async_container, provide
from dishka.integrations.litestar import LitestarProvider

from hduce.adapters.memory import InMemoryStore
from hduce.adapters.security.passwords import Argon2Parameters
from hduce.application.identity.accounts import CreateAccount
from hduce.bootstrap.providers.config import ConfigProvider
from hduce.bootstrap.providers.delivery import DeliveryProvider
from hduce.bootstrap.providers.identity import IdentityProvider
from hduce.bootstrap.providers.persistence import InMemoryPersistenceProvider
from hduce.bootstrap.providers.security import SecurityProvider
from hduce.bootstrap.providers.shared_state import InMemorySharedStateProvider
from hduce.bootstrap.providers.two_factor import TwoFactorProvider
from hduce.bootstrap.settings import Settings
from hduce.domain.identity import Role
from hduce.entrypoints.commands import create_admin as command

PASSWORD = "correct horse battery staple"


class SharedStore(Provider):
    """The test's store instead of a fresh one, so the test can look inside."""

    scope = Scope.APP

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self._store = store

    @provide(override=True)
    def store(self) -> InMemoryStore:
        return self._store


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> InMemoryStore:
    store = InMemoryStore()
    for name in list(os.environ):
        if name.startswith("HDUCE_") and not name.startswith("HDUCE_TEST_"):
            monkeypatch.delenv(name)

    def build(settings: Settings) -> AsyncContainer:
        return make_async_container(
            LitestarProvider(),
            ConfigProvider(),
            InMemoryPersistenceProvider(),
            InMemorySharedStateProvider(),
            SecurityProvider(hasher_parameters=Argon2Parameters.for_tests()),
            IdentityProvider(),
            TwoFactorProvider(),
            DeliveryProvider(),  # the identity feature mails links (password reset, ...)
            SharedStore(store),
            context={Settings: settings},
        )

    monkeypatch.setattr(command, "_build_container", build)
    return store


def test_creates_an_admin_from_prompts(store: InMemoryStore) -> None:
    result = CliRunner().invoke(
        command.create_admin,
        [],
        input=f"Root@Example.org\nRoot Admin\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root@example.org" in result.output
    assert PASSWORD not in result.output  # hidden prompt
    [user] = store.users.values()
    assert (user.email, user.role, user.full_name) == ("root@example.org", Role.ADMIN, "Root Admin")
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")


def test_password_from_stdin_and_duplicates(store: InMemoryStore) -> None:
    args = ["--email", "root@example.org", "--full-name", "Root", "--password-stdin"]
    first = CliRunner().invoke(command.create_admin, args, input=f"{PASSWORD}\n")
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(command.create_admin, args, input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "exists already" in again.output
    assert len(store.users) == 1


@pytest.mark.parametrize(("password", "message"), [("password123", "too common"), ("", "required")])
def test_weak_or_empty_passwords_are_refused(
    store: InMemoryStore, password: str, message: str
) -> None:
    args = ["--email", "root@example.org", "--full-name", "Root", "--password-stdin"]
    result = CliRunner().invoke(command.create_admin, args, input=f"{password}\n")
    assert result.exit_code != 0 and message in result.output
    assert not store.users


def test_bad_configuration_exits_2(store: InMemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HDUCE_HTTP_PORT", "not-a-port")
    result = CliRunner().invoke(
        command.create_admin,
        ["--email", "a@example.org", "--full-name", "A", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 2 and "HDUCE_HTTP_PORT" in result.output


def test_the_real_container_builder_wires_the_identity_providers() -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
    container = command._build_container(settings)

    async def resolve() -> object:
        try:
            return await container.get(CreateAccount)
        finally:
            await container.close()

    assert asyncio.run(resolve()) is not None
