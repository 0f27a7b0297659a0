"""Test-only stand-ins for ports that production never uses.

The in-memory adapters the embedded default runs on (store, units of work, bus,
cache, log sinks...) stay in ``hduce.adapters.memory``; what is here exists only
to make tests fast and deterministic.
"""

from tests.fakes.clock import DEFAULT_FIXED_INSTANT, FixedClock, SequentialIdGenerator
from tests.fakes.identity import (
    FakeAccessTokens,
    FakeOidcProvider,
    FakePasswordHasher,
    RecordingLinkMailer,
)

__all__ = [
    "DEFAULT_FIXED_INSTANT",
    "FakeAccessTokens",
    "FakeOidcProvider",
    "FakePasswordHasher",
    "FixedClock",
    "RecordingLinkMailer",
    "SequentialIdGenerator",
]
