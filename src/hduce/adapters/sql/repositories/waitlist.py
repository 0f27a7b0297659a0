"""Waitlist entries and offers (``hduce.domain.waitlist``) in two tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import LIVE_OFFER_SQL, WaitlistEntryRow, WaitlistOfferRow
from hduce.adapters.sql.repositories._support import affected_rows, table, upsert_insert
from hduce.domain.errors import StaleVersion
from hduce.domain.scheduling import TimeSlot
from hduce.domain.waitlist import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer


def _entry(row: WaitlistEntryRow) -> WaitlistEntry:
    return WaitlistEntry(
        id=row.id,
        patient_id=row.patient_id,
        doctor_id=row.doctor_id,
        window=TimeSlot(row.window_start, row.window_end),
        created_at=row.created_at,
        visit_type=row.visit_type,
        status=EntryStatus(row.status),
        visit_type_id=row.visit_type_id,
    )


def _offer(row: WaitlistOfferRow) -> WaitlistOffer:
    return WaitlistOffer(
        id=row.id,
        entry_id=row.entry_id,
        patient_id=row.patient_id,
        doctor_id=row.doctor_id,
        slot=TimeSlot(row.starts_at, row.ends_at),
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=OfferStatus(row.status),
        appointment_id=row.appointment_id,
        version=row.version,
        freed_appointment_id=row.freed_appointment_id,
    )


class SqlWaitlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ------------------------------------------------------------------ entries

    async def add_entry(self, entry: WaitlistEntry) -> None:
        await self._session.execute(
            table(WaitlistEntryRow)
            .insert()
            .values(
                id=entry.id,
                patient_id=entry.patient_id,
                doctor_id=entry.doctor_id,
                window_start=entry.window.start,
                window_end=entry.window.end,
                visit_type=entry.visit_type,
                visit_type_id=entry.visit_type_id,
                status=entry.status.value,
                created_at=entry.created_at,
            )
        )

    async def get_entry(self, entry_id: UUID) -> WaitlistEntry | None:
        row = await self._session.get(WaitlistEntryRow, entry_id, populate_existing=True)
        return _entry(row) if row is not None else None

    async def save_entry(self, entry: WaitlistEntry) -> None:
        await self._session.execute(
            table(WaitlistEntryRow)
            .update()
            .where(WaitlistEntryRow.id == entry.id)
            .values(status=entry.status.value)
        )

    async def entries_of(self, patient_id: UUID) -> Sequence[WaitlistEntry]:
        rows = await self._session.scalars(
            select(WaitlistEntryRow)
            .where(
                WaitlistEntryRow.patient_id == patient_id,
                WaitlistEntryRow.status == EntryStatus.WAITING.value,
            )
            .order_by(WaitlistEntryRow.created_at, WaitlistEntryRow.id)
        )
        return [_entry(row) for row in rows]

    async def waiting_for(self, doctor_id: UUID, slot: TimeSlot) -> Sequence[WaitlistEntry]:
        rows = await self._session.scalars(
            select(WaitlistEntryRow)
            .where(
                WaitlistEntryRow.doctor_id == doctor_id,
                # The literal lets the partial index ix_waitlist_entries_waiting serve.
                text("waitlist_entries.status = 'waiting'"),
                WaitlistEntryRow.window_start <= slot.start,
                WaitlistEntryRow.window_end >= slot.end,
            )
            .order_by(WaitlistEntryRow.created_at, WaitlistEntryRow.id)
        )
        return [_entry(row) for row in rows]

    # ------------------------------------------------------------------ offers

    async def add_offer(self, offer: WaitlistOffer) -> bool:
        # ON CONFLICT against the partial unique index: a second live offer for the same
        # slot is simply not written (no error that would abort a PostgreSQL transaction).
        result = await self._session.execute(
            upsert_insert(self._session, WaitlistOfferRow)
            .values(
                id=offer.id,
                entry_id=offer.entry_id,
                patient_id=offer.patient_id,
                doctor_id=offer.doctor_id,
                starts_at=offer.slot.start,
                ends_at=offer.slot.end,
                created_at=offer.created_at,
                expires_at=offer.expires_at,
                status=offer.status.value,
                appointment_id=offer.appointment_id,
                version=offer.version,
                freed_appointment_id=offer.freed_appointment_id,
            )
            .on_conflict_do_nothing(
                index_elements=["doctor_id", "starts_at"], index_where=text(LIVE_OFFER_SQL)
            )
        )
        return affected_rows(result) == 1

    async def get_offer(self, offer_id: UUID, *, for_update: bool = False) -> WaitlistOffer | None:
        statement = select(WaitlistOfferRow).where(WaitlistOfferRow.id == offer_id)
        if for_update:
            statement = statement.with_for_update()  # SQLite: the serialized write lock
        row = (
            await self._session.scalars(statement.execution_options(populate_existing=True))
        ).first()
        return _offer(row) if row is not None else None

    async def save_offer(self, offer: WaitlistOffer, *, expected_version: int) -> None:
        result = await self._session.execute(
            table(WaitlistOfferRow)
            .update()
            .where(WaitlistOfferRow.id == offer.id, WaitlistOfferRow.version == expected_version)
            .values(
                status=offer.status.value,
                appointment_id=offer.appointment_id,
                # An acceptance sets its deadline here (``begin_accept``).
                expires_at=offer.expires_at,
                version=offer.version,
            )
        )
        if affected_rows(result) != 1:
            raise StaleVersion("waitlist offer", offer.id, expected_version, None)

    async def offered_patients(self, doctor_id: UUID, starts_at: datetime) -> set[UUID]:
        rows = await self._session.scalars(
            select(WaitlistOfferRow.patient_id).where(
                WaitlistOfferRow.doctor_id == doctor_id, WaitlistOfferRow.starts_at == starts_at
            )
        )
        return set(rows)

    async def live_offer(self, doctor_id: UUID, starts_at: datetime) -> WaitlistOffer | None:
        row = (
            await self._session.scalars(
                select(WaitlistOfferRow).where(
                    WaitlistOfferRow.doctor_id == doctor_id,
                    WaitlistOfferRow.starts_at == starts_at,
                    text(f"waitlist_offers.{LIVE_OFFER_SQL}"),
                )
            )
        ).first()
        return _offer(row) if row is not None else None

    async def offers_of(self, patient_id: UUID) -> Sequence[WaitlistOffer]:
        rows = await self._session.scalars(
            select(WaitlistOfferRow)
            .where(WaitlistOfferRow.patient_id == patient_id)
            .order_by(WaitlistOfferRow.created_at.desc(), WaitlistOfferRow.id.desc())
            .limit(200)
        )
        return [_offer(row) for row in rows]

    async def claim_expired(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        rows = await self._session.scalars(
            select(WaitlistOfferRow)
            .where(text("waitlist_offers.status = 'offered'"), WaitlistOfferRow.expires_at <= now)
            .order_by(WaitlistOfferRow.expires_at, WaitlistOfferRow.id)
            .limit(max(0, limit))
            # PostgreSQL: offers another sweep holds are skipped, not waited for; SQLite
            # renders no locking clause (the serialized unit of work holds the write lock).
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return [_offer(row) for row in rows]

    async def claim_stuck_acceptances(self, now: datetime, limit: int) -> Sequence[WaitlistOffer]:
        # Rare rows: the live-slot partial index covers 'accepting'.
        rows = await self._session.scalars(
            select(WaitlistOfferRow)
            .where(text("waitlist_offers.status = 'accepting'"), WaitlistOfferRow.expires_at <= now)
            .order_by(WaitlistOfferRow.expires_at, WaitlistOfferRow.id)
            .limit(max(0, limit))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return [_offer(row) for row in rows]
