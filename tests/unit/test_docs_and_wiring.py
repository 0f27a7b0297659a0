"""The README's configuration table is the one the program accepts, and the
production container's dependency graph is complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from hduce.application.appointments.booking import BookAppointment
from hduce.application.messaging.outbox_relay import OutboxRelay
from hduce.application.messaging.reminders import SendDueReminders
from hduce.application.notifications.delivery import DeliverPendingNotifications
from hduce.application.notifications.handler import HandleEventNotifications
from hduce.application.ports import ReadinessProbes
from hduce.bootstrap.container import build_container
from hduce.bootstrap.settings import Settings, render_settings_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_setting_as_the_program_documents_it() -> None:
    assert render_settings_markdown().strip() in README.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "wanted",
    [
        BookAppointment,
        HandleEventNotifications,
        DeliverPendingNotifications,
        SendDueReminders,
        OutboxRelay,
        ReadinessProbes,
    ],
)
async def test_production_container_resolves(wanted: type, tmp_path: Path) -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    container = build_container(settings)
    try:
        assert isinstance(await container.get(wanted), wanted)
    finally:
        await container.close()
