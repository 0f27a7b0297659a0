from __future__ import annotations

import pytest

from tests.unit.identity.support import Kit


@pytest.fixture
def kit() -> Kit:
    return Kit()
