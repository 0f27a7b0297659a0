"""Check-in devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hduce.adapters.sql.models import DeviceRow
from hduce.adapters.sql.repositories._support import affected_rows, clamp, count, table
from hduce.application.ports import Page, PageRequest
from hduce.domain.devices import Device
from hduce.domain.errors import AlreadyExists, NotFound


def _device_values(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.name,
        "location": device.location,
        "secret_hash": device.secret_hash,
        "registered_at": device.registered_at,
        "registered_by": device.registered_by,
        "revoked_at": device.revoked_at,
        "last_seen_at": device.last_seen_at,
    }


def _to_device(row: Any) -> Device:
    return Device(
        id=row.id,
        name=row.name,
        location=row.location,
        secret_hash=row.secret_hash,
        registered_at=row.registered_at,
        registered_by=row.registered_by,
        revoked_at=row.revoked_at,
        last_seen_at=row.last_seen_at,
    )


class SqlDeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, device: Device) -> None:
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    table(DeviceRow).insert().values(_device_values(device))
                )
        except IntegrityError as error:
            raise AlreadyExists(f"device {device.id} already exists") from error

    async def get(self, device_id: UUID) -> Device | None:
        row = (
            await self._session.execute(
                select(*table(DeviceRow).c).where(DeviceRow.id == device_id)
            )
        ).first()
        return _to_device(row) if row is not None else None

    async def save(self, device: Device) -> None:
        values = _device_values(device)
        del values["id"], values["last_seen_at"]  # record_seen's alone
        result = await self._session.execute(
            table(DeviceRow).update().where(DeviceRow.id == device.id).values(values)
        )
        if affected_rows(result) == 0:
            raise NotFound("device", device.id)

    async def record_seen(self, device_id: UUID, at: datetime) -> None:
        await self._session.execute(
            table(DeviceRow)
            .update()
            .where(
                DeviceRow.id == device_id,
                or_(DeviceRow.last_seen_at.is_(None), DeviceRow.last_seen_at < at),
            )
            .values(last_seen_at=at)
        )

    async def list(self, page: PageRequest = PageRequest()) -> Page[Device]:
        limit, offset = clamp(page)
        # By name whatever its case, as the in-memory store sorts (a handful of rows:
        # no index for it).
        statement = select(*table(DeviceRow).c).order_by(func.lower(DeviceRow.name), DeviceRow.id)
        total = await count(self._session, statement)
        rows = (await self._session.execute(statement.limit(limit).offset(offset))).all()
        return Page(
            items=[_to_device(row) for row in rows],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
