"""``hduce seed-demo``: fill the database with a small demo clinic."""

from __future__ import annotations

import asyncio
import secrets

import click

from hduce.application.demo import DEMO_ADMIN_EMAIL, DemoSummary, SeedDemo
from hduce.bootstrap.settings import Settings
from hduce.entrypoints.commands.common import load_settings


async def _seed(settings: Settings, password: str) -> DemoSummary:
    from hduce.bootstrap import database
    from hduce.bootstrap.container import build_container

    await database.upgrade(settings)
    container = build_container(settings)
    try:
        seed = await container.get(SeedDemo)
        return await seed(password)
    finally:
        await container.close()


@click.command("seed-demo")
@click.option(
    "--password",
    help="Password of every demo account [default: a random one, printed].",
)
def seed_demo(password: str | None) -> None:
    """Specialties, doctors with office hours, patients and appointments to look at.

    Refused when HDUCE_ENV=production: demo accounts share one password.
    """
    settings = load_settings()
    if settings.is_production:
        raise click.ClickException("seed-demo is for development databases only")
    chosen = password or secrets.token_urlsafe(12)
    summary = asyncio.run(_seed(settings, chosen))
    if not summary.created:
        click.echo(f"demo data already present (admin: {DEMO_ADMIN_EMAIL}); nothing changed")
        return
    click.echo(
        f"demo clinic created: {len(summary.accounts)} accounts, "
        f"{summary.appointments} appointments\n"
        f"every account below signs in with password: {chosen}"
    )
    width = max(len(user.email) for user in summary.accounts)
    for user in summary.accounts:
        click.echo(f"  {user.role.value:<8}{user.email:<{width}}  {user.full_name}")
