"""Fixtures of the notification end-to-end tests (the appointment tests' clinic)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.appointments.harness import ClinicWorld, clinic_world
from tests.e2e.identity.conftest import (  # noqa: F401 - fixtures used by name
    Backend,
    backend,
    embedded,
    migrated_sqlite_template,
    production,
)


@pytest.fixture
async def world(backend: Backend) -> AsyncIterator[ClinicWorld]:  # noqa: F811
    async with clinic_world(backend) as clinic:
        yield clinic
