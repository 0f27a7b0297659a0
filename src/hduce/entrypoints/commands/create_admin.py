"""``hduce create-admin``: the first administrator (and any later one).

There is no default password: it is typed twice at a hidden prompt, or read from
standard input with ``--password-stdin`` (for scripts: ``printf '%s' "$PW" | hduce
create-admin --email ... --full-name ... --password-stdin``), and must pass the
same policy as every other password.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from hduce.application.identity.accounts import CreateAccount, NewAccount
from hduce.bootstrap.settings import Settings
from hduce.domain.errors import AlreadyExists, InvalidInput
from hduce.domain.identity import Actor, Role, User
from hduce.entrypoints.commands.common import FAILURE, USAGE_ERROR, load_settings

if TYPE_CHECKING:
    from dishka import AsyncContainer


def _build_container(settings: Settings) -> AsyncContainer:
    from hduce.bootstrap.container import build_container

    return build_container(settings)


async def _create(settings: Settings, account: NewAccount) -> User:
    container = _build_container(settings)
    try:
        create = await container.get(CreateAccount)
        return await create(Actor.system(), account)
    finally:
        await container.close()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(
        click.prompt("Password", hide_input=True, confirmation_prompt=True, prompt_suffix=": ")
    )


@click.command("create-admin")
@click.option("--email", prompt=True, help="Email address of the new admin (their login).")
@click.option("--full-name", prompt="Full name", help="Name shown to other users.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def create_admin(email: str, full_name: str, password_stdin: bool) -> None:
    """Create an administrator account (password prompted, never defaulted)."""
    settings = load_settings()
    password = _read_password(password_stdin)
    if not password:
        click.echo("hduce: a password is required", err=True)
        raise SystemExit(USAGE_ERROR)
    account = NewAccount(email=email, full_name=full_name, role=Role.ADMIN, password=password)
    try:
        user = asyncio.run(_create(settings, account))
    except InvalidInput as exc:
        click.echo(f"hduce: {exc.field or 'input'}: {exc.message}", err=True)
        raise SystemExit(FAILURE) from None
    except AlreadyExists:
        click.echo(f"hduce: an account with the email {email!r} exists already", err=True)
        raise SystemExit(FAILURE) from None
    click.echo(f"Created admin {user.email} ({user.id}).")
