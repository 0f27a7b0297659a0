"""Signing keys stored in the database, and their rotation (ADR 0016).

A key goes through four states, decided by the clock alone:

* ``next``: created by ``hduce keys rotate``, published in the JWKS but not signing
  yet. The delay lets every process re-read the keys (``HDUCE_JWT_KEY_RELOAD_INTERVAL``)
  before the first token signed with it reaches them.
* ``signing``: the newest generation whose ``activates_at`` has passed. One at a time.
* ``retiring``: a newer key signs; this one still verifies the tokens it signed, until
  the longest of them has expired (``retire_after``: the access-token lifetime plus the
  verifier's leeway after it stopped signing).
* ``retired``: no live token can carry it; it leaves the JWKS, and the next rotation
  deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hduce.application.ports import (
    Clock,
    SigningKeyMaker,
    SigningKeyRecord,
    SigningKeyStore,
)

KeyState = Literal["next", "signing", "retiring", "retired"]


@dataclass(frozen=True, slots=True)
class KeySchedule:
    """When keys sign and when they leave the JWKS.

    ``retire_after``: how long a key stays published once a newer one signs (the
    access-token lifetime plus the verification leeway). ``activation_delay``: how long
    after a rotation the new key starts signing."""

    retire_after: timedelta
    activation_delay: timedelta

    def signing(self, records: list[SigningKeyRecord], now: datetime) -> SigningKeyRecord | None:
        """The key that signs at ``now``: the newest active one (or, before any is
        active, the oldest: a first key is made active at once anyway)."""
        if not records:
            return None
        ordered = sorted(records, key=lambda record: record.generation)
        active = [record for record in ordered if record.activates_at <= now]
        return active[-1] if active else ordered[0]

    def superseded_at(
        self, record: SigningKeyRecord, records: list[SigningKeyRecord]
    ) -> datetime | None:
        """When a newer generation took over signing from ``record`` (or will)."""
        later = [other.activates_at for other in records if other.generation > record.generation]
        return min(later) if later else None

    def retires_at(
        self, record: SigningKeyRecord, records: list[SigningKeyRecord]
    ) -> datetime | None:
        superseded = self.superseded_at(record, records)
        return (
            None
            if superseded is None
            else max(superseded, record.activates_at) + (self.retire_after)
        )

    def state(
        self, record: SigningKeyRecord, records: list[SigningKeyRecord], now: datetime
    ) -> KeyState:
        signing = self.signing(records, now)
        if signing is not None and signing.kid == record.kid:
            return "signing"
        if record.activates_at > now:
            return "next"
        retires_at = self.retires_at(record, records)
        if retires_at is not None and retires_at <= now:
            return "retired"
        return "retiring"

    def published(self, records: list[SigningKeyRecord], now: datetime) -> list[SigningKeyRecord]:
        """The keys that verify tokens at ``now`` (the JWKS), by generation."""
        return [
            record
            for record in sorted(records, key=lambda record: record.generation)
            if self.state(record, records, now) != "retired"
        ]


@dataclass(frozen=True, slots=True)
class SigningKeyView:
    """A key as ``hduce keys list`` shows it (never its private part)."""

    kid: str
    generation: int
    algorithm: str
    state: KeyState
    encrypted: bool
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None

    @classmethod
    def of(
        cls,
        record: SigningKeyRecord,
        records: list[SigningKeyRecord],
        schedule: KeySchedule,
        now: datetime,
    ) -> SigningKeyView:
        return cls(
            kid=record.kid,
            generation=record.generation,
            algorithm=record.algorithm,
            state=schedule.state(record, records, now),
            encrypted=record.encrypted,
            created_at=record.created_at,
            activates_at=record.activates_at,
            retires_at=schedule.retires_at(record, records),
        )


class ListSigningKeys:
    def __init__(self, store: SigningKeyStore, clock: Clock, schedule: KeySchedule) -> None:
        self._store = store
        self._clock = clock
        self._schedule = schedule

    async def __call__(self) -> list[SigningKeyView]:
        records = await self._store.list_all()
        now = self._clock.now()
        return [
            SigningKeyView.of(record, records, self._schedule, now)
            for record in sorted(records, key=lambda record: record.generation)
        ]


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: the new key, and the retired keys it deleted."""

    new_key: SigningKeyView
    deleted: list[str]


class KeyRotationConflict(Exception):
    """Another rotation stored the same generation first; run it again."""


class UnreadableSigningKeys(Exception):
    """The stored keys cannot be loaded with this configuration's passphrase: a key
    made now would be encrypted with a passphrase the running processes do not have."""


class RotateSigningKeys:
    """Add the next generation of signing key, and delete the retired ones.

    ``immediately``: the new key signs at once (a single process, or every process
    stopped): otherwise it signs after ``KeySchedule.activation_delay``."""

    def __init__(
        self,
        store: SigningKeyStore,
        maker: SigningKeyMaker,
        clock: Clock,
        schedule: KeySchedule,
    ) -> None:
        self._store = store
        self._maker = maker
        self._clock = clock
        self._schedule = schedule

    async def __call__(self, *, immediately: bool = False) -> Rotation:
        now = self._clock.now()
        records = await self._store.list_all()
        unreadable = [record.kid for record in records if not self._maker.can_read(record)]
        if unreadable:
            raise UnreadableSigningKeys(
                f"key {unreadable[0]} cannot be read with this HDUCE_JWT_KEY_PASSPHRASE"
            )
        generation = max((record.generation for record in records), default=0) + 1
        # The first key has no tokens to wait for and nobody to tell in advance.
        delay = timedelta(0) if immediately or not records else self._schedule.activation_delay
        record = self._maker.make(generation=generation, created_at=now, activates_at=now + delay)
        if not await self._store.add(record):
            raise KeyRotationConflict(f"generation {generation} was stored meanwhile")
        records = [*records, record]
        retired = [
            old.kid for old in records if self._schedule.state(old, records, now) == "retired"
        ]
        if retired:
            await self._store.delete(retired)
        remaining = [old for old in records if old.kid not in retired]
        return Rotation(SigningKeyView.of(record, remaining, self._schedule, now), retired)


class EnsureSigningKey:
    """At start-up of a process that signs tokens: make the first key if there is none.

    Two processes starting at once both try generation 1; the store takes one, and the
    other reads it back."""

    def __init__(self, store: SigningKeyStore, maker: SigningKeyMaker, clock: Clock) -> None:
        self._store = store
        self._maker = maker
        self._clock = clock

    async def __call__(self) -> list[SigningKeyRecord]:
        records = await self._store.list_all()
        if records:
            return records
        now = self._clock.now()
        await self._store.add(self._maker.make(generation=1, created_at=now, activates_at=now))
        return await self._store.list_all()
