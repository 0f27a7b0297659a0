"""``hduce keys rotate`` and ``hduce keys list`` as real processes, beside a running app
on the same database (SQLite), on the system clock: the app picks the new key up by
itself, publishes it at once, signs with it two reload intervals later, and tokens
signed before keep working. The keys are stored encrypted with the passphrase."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hduce.adapters.sql import create_engine
from hduce.adapters.sql.service_tokens import SigningKeyRow
from hduce.domain.identity import Role
from tests.e2e.harness import API, AppFactory, Backend, Client, bearer, create_account, session
from tests.e2e.server import clean_environment, hduce_command, run_command

KEYS_ENV = {
    "HDUCE_JWT_ALGORITHM": "Ed25519",
    "HDUCE_JWT_KEY_PASSPHRASE": "a-passphrase-for-the-e2e-keys-0123456789",
    "HDUCE_JWT_KEY_RELOAD_INTERVAL": "1s",
}


def _kid(token: str) -> str:
    segment = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"])


async def _kids(client: Client) -> list[str]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    return [key["kid"] for key in response.json()["keys"]]


async def _until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_keys_rotate_and_list_as_processes(
    embedded: Backend, make_client: AppFactory, tmp_path: Path
) -> None:
    client = await make_client(env=KEYS_ENV, backend=embedded)
    await create_account(client, Role.PATIENT, "ana@example.org")
    before = (await session(client, "ana@example.org"))["access_token"]
    first = _kid(before)
    assert await _kids(client) == [first]

    env = clean_environment(**embedded.env, **KEYS_ENV)
    # In a thread: the app runs on this event loop meanwhile (its reload task too).
    rotated = await asyncio.to_thread(run_command, ["keys", "rotate"], env, tmp_path)
    second = rotated.split()[2]
    assert rotated.startswith(f"new key {second} (generation 2, Ed25519): published now")

    async def published() -> bool:
        return await _kids(client) == [first, second]

    await _until(published)  # re-read within HDUCE_JWT_KEY_RELOAD_INTERVAL

    async def signs_with_the_new_key() -> bool:
        token = (await session(client, "ana@example.org"))["access_token"]
        return _kid(token) == second

    await _until(signs_with_the_new_key)  # two reload intervals after the rotation
    me = await client.get(f"{API}/auth/me", headers=bearer(before))
    assert me.status_code == 200, me.text

    listed = await asyncio.to_thread(run_command, ["keys", "list"], env, tmp_path)
    rows = [line.split() for line in listed.splitlines()[1:]]
    assert [(row[0], row[1], row[2], row[-1]) for row in rows] == [
        ("1", "retiring", "Ed25519", first),
        ("2", "signing", "Ed25519", second),
    ]

    engine = create_engine(embedded.env["HDUCE_DATABASE_URL"])
    try:
        async with engine.connect() as connection:
            stored = (await connection.execute(select(SigningKeyRow.private_key))).scalars().all()
    finally:
        await engine.dispose()
    assert len(stored) == 2
    assert all(pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for pem in stored)


def test_keys_commands_refuse_without_database_keys(tmp_path: Path) -> None:
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
        HDUCE_JWT_ALGORITHM="HS256",
    )
    result = subprocess.run(
        [*hduce_command(), "keys", "rotate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "the signing keys are not kept in the database" in result.stderr
