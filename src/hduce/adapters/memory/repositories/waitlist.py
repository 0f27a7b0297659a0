"""Waitlist entries and offers, with the one-live-offer-per-slot rule of the SQL index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import Repository, copied
from hduce.adapters.memory.store import StoreTables
from hduce.domain.errors import AlreadyExists, StaleVersion
from hduce.domain.scheduling import TimeSlot
from hduce.domain.waitlist import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer


class InMemoryWaitlistRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._entries = tables.waitlist_entries
        self._offers = tables.waitlist_offers

    async def add_entry(self, entry: WaitlistEntry) -> None:
        self._entries.put(entry.id, copied(entry), insert=True)

    async def get_entry(self, entry_id: UUID) -> WaitlistEntry | None:
        return copied(self._entries.get(entry_id))

    async def save_entry(self, entry: WaitlistEntry) -> None:
        self._entries.put(entry.id, copied(entry))

    async def entries_of(self, patient_id: UUID) -> Sequence[WaitlistEntry]:
        mine = [
            e
            for e in self._entries.values()
            if e.patient_id == patient_id and e.status is EntryStatus.WAITING
        ]
        return copied(sorted(mine, key=lambda e: (e.created_at, e.id)))

    async def waiting_for(self, doctor_id: UUID, slot: TimeSlot) -> Sequence[WaitlistEntry]:
        found = [e for e in self._entries.values() if e.matches(doctor_id, slot)]
        return copied(sorted(found, key=lambda e: (e.created_at, e.id)))

    def _live_conflict(self, offer: WaitlistOffer) -> bool:
        return any(
            other.id != offer.id
            and other.is_live
            and other.doctor_id == offer.doctor_id
            and other.slot.start == offer.slot.start
            for other in self._offers.values()
        )

    async def add_offer(self, offer: WaitlistOffer) -> bool:
        if offer.is_live and self._live_conflict(offer):
            return False
        self._offers.put(offer.id, copied(offer), insert=True)
        return True

    async def get_offer(self, offer_id: UUID, *, for_update: bool = False) -> WaitlistOffer | None:
        return copied(self._offers.get(offer_id))

    async def save_offer(self, offer: WaitlistOffer, *, expected_version: int) -> None:
        stored = self._offers.get(offer.id)
        if stored is None or stored.version != expected_version:
            actual = stored.version if stored is not None else None
            raise StaleVersion("waitlist offer", offer.id, expected_version, actual)
        self._offers.put(offer.id, copied(offer))

    async def offered_patients(self, doctor_id: UUID, starts_at: datetime) -> set[UUID]:
        return {
            o.patient_id
            for o in self._offers.values()
            if o.doctor_id == doctor_id and o.slot.start == starts_at
        }

    async def live_offer(self, doctor_id: UUID, starts_at: datetime) -> WaitlistOffer | None:
        for offer in self._offers.values():
            if offer.is_live and offer.doctor_id == doctor_id and offer.slot.start == starts_at:
                return copied(offer)
        return None

    async def offers_of(self, patient_id: UUID) -> Sequence[WaitlistOffer]:
        mine = [o for o in self._offers.values() if o.patient_id == patient_id]
        return copied(sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True))

    async def claim_expired(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        due = [
            o
            for o in self._offers.values()
            if o.status is OfferStatus.OFFERED and o.expires_at <= now
        ]
        return copied(sorted(due, key=lambda o: (o.expires_at, o.id))[: max(0, limit)])

    async def claim_stuck_acceptances(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        stuck = [
            o
            for o in self._offers.values()
            if o.status is OfferStatus.ACCEPTING and o.expires_at <= now
        ]
        return copied(sorted(stuck, key=lambda o: (o.expires_at, o.id))[: max(0, limit)])

    def validate_commit(self) -> None:
        # What the partial unique index does in SQL, against what others committed.
        written = dict(self._offers.written())
        for offer in written.values():
            if offer.is_live and any(
                key not in written  # this unit's own version of a row is the one that counts
                and other.is_live
                and other.doctor_id == offer.doctor_id
                and other.slot.start == offer.slot.start
                for key, other in self._offers.base.items()
            ):
                raise AlreadyExists("a live offer of that slot exists already")
