"""The account events (a sign-in from a new device, a changed password) are in the
AsyncAPI document, with their payload fields, as the notification handler's messages."""

from __future__ import annotations

import json
from pathlib import Path

from hduce.bootstrap.container import build_container
from hduce.bootstrap.messaging import AsyncApiDocument
from hduce.bootstrap.settings import Settings


async def test_the_account_events_are_documented(tmp_path: Path) -> None:
    settings = Settings.from_env({"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"})
    container = build_container(settings)
    try:
        document = json.loads((await container.get(AsyncApiDocument)).json)
    finally:
        await container.close()

    addresses = {c["address"] for c in document["channels"].values()}
    assert {"user.new_device_signed_in", "user.password_changed"} <= addresses
    text = json.dumps(document["components"])
    for field in ("session_id", "client", "network", "signed_in_at", "sessions_ended"):
        assert f'"{field}"' in text, field
