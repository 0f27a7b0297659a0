"""``hduce keys list`` and ``hduce keys rotate``: the access-token signing keys kept in
the database (an asymmetric ``HDUCE_JWT_ALGORITHM`` without
``HDUCE_JWT_PRIVATE_KEY_FILE``; ADR 0016).

``rotate`` adds the next key: published in the JWKS at once, signing after two
``HDUCE_JWT_KEY_RELOAD_INTERVAL`` (so every running process has read it first), or at
once with ``--now`` (nothing else running). Keys whose tokens have all expired are
deleted by the same command. Run it from cron, e.g. monthly.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import click

from hduce.application.identity.signing_keys import (
    KeyRotationConflict,
    ListSigningKeys,
    RotateSigningKeys,
    Rotation,
    SigningKeyView,
    UnreadableSigningKeys,
)
from hduce.bootstrap.settings import Settings
from hduce.entrypoints.commands.common import FAILURE, USAGE_ERROR, load_settings

if TYPE_CHECKING:
    from dishka import AsyncContainer


def _build_container(settings: Settings) -> AsyncContainer:
    from hduce.bootstrap.container import build_container

    return build_container(settings)


def _settings_with_database_keys() -> Settings:
    settings = load_settings()
    if not settings.auth.jwt_keys_in_database:
        click.echo(
            "hduce: the signing keys are not kept in the database: set HDUCE_JWT_ALGORITHM to "
            "RS256, ES256, EdDSA or Ed25519 and leave HDUCE_JWT_PRIVATE_KEY_FILE unset",
            err=True,
        )
        raise SystemExit(USAGE_ERROR)
    return settings


async def _list(settings: Settings) -> list[SigningKeyView]:
    container = _build_container(settings)
    try:
        return await (await container.get(ListSigningKeys))()
    finally:
        await container.close()


async def _rotate(settings: Settings, *, immediately: bool) -> Rotation:
    container = _build_container(settings)
    try:
        return await (await container.get(RotateSigningKeys))(immediately=immediately)
    finally:
        await container.close()


def _when(instant: datetime | None) -> str:
    return "-" if instant is None else instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group()
def keys() -> None:
    """Access-token signing keys kept in the database."""


@keys.command("list")
def list_keys() -> None:
    """Print the keys: generation, kid, algorithm, state, when each signs and retires."""
    views = asyncio.run(_list(_settings_with_database_keys()))
    if not views:
        click.echo("no signing key yet (the first process that signs tokens makes one)")
        return
    click.echo("generation  state     algorithm  activates_at          retires_at            kid")
    for view in views:
        click.echo(
            f"{view.generation:<10}  {view.state:<8}  {view.algorithm:<9}  "
            f"{_when(view.activates_at):<20}  {_when(view.retires_at):<20}  {view.kid}"
            + ("" if view.encrypted else "  (unencrypted)")
        )


@keys.command("rotate")
@click.option(
    "--now",
    "immediately",
    is_flag=True,
    help="Sign with the new key at once (only when no other process is running).",
)
def rotate_keys(immediately: bool) -> None:
    """Add the next signing key and delete the retired ones."""
    try:
        rotation = asyncio.run(_rotate(_settings_with_database_keys(), immediately=immediately))
    except KeyRotationConflict as exc:
        click.echo(f"hduce: another rotation ran at the same time ({exc}); run it again", err=True)
        raise SystemExit(FAILURE) from None
    except UnreadableSigningKeys as exc:
        click.echo(f"hduce: {exc}; no key was added", err=True)
        raise SystemExit(FAILURE) from None
    key = rotation.new_key
    click.echo(
        f"new key {key.kid} (generation {key.generation}, {key.algorithm}): published now, "
        f"signs from {_when(key.activates_at)}"
    )
    for kid in rotation.deleted:
        click.echo(f"deleted retired key {kid}")
