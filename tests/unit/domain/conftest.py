"""Fixtures for the domain tests; the builders themselves live in ``builders.py``."""

from __future__ import annotations

from datetime import time

import pytest

from hduce.domain.scheduling import DoctorAvailability, LocalInterval, WeeklyHours
from tests.unit.domain.builders import CAST, Cast


@pytest.fixture
def cast() -> Cast:
    return CAST


@pytest.fixture
def madrid_office_hours() -> DoctorAvailability:
    """Monday-Friday 09:00-13:00 and 15:00-19:00 on the wall clock in Madrid."""
    day = (LocalInterval(time(9), time(13)), LocalInterval(time(15), time(19)))
    return DoctorAvailability("Europe/Madrid", WeeklyHours({d: day for d in range(5)}))
