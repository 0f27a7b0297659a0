"""Check-in devices."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from hduce.adapters.memory.repositories._support import (
    DEFAULT_PAGE,
    Repository,
    copied,
    paginate,
)
from hduce.adapters.memory.store import StoreTables
from hduce.application.ports import Page, PageRequest
from hduce.domain.devices import Device
from hduce.domain.errors import AlreadyExists, NotFound


class InMemoryDeviceRepository(Repository):
    def __init__(self, tables: StoreTables) -> None:
        self._devices = tables.devices
        #: Last-seen moves of this unit of work, re-applied at commit onto the row as
        #: committed then (as SQL's one-column UPDATE does): a revocation committed
        #: meanwhile by another unit of work is kept.
        self._seen: dict[UUID, datetime] = {}

    async def add(self, device: Device) -> None:
        if device.id in self._devices:
            raise AlreadyExists(f"device {device.id} already exists")
        self._devices.put(device.id, copied(device), insert=True)

    async def get(self, device_id: UUID) -> Device | None:
        return copied(self._devices.get(device_id))

    async def save(self, device: Device) -> None:
        stored = self._devices.get(device.id)
        if stored is None:
            raise NotFound("device", device.id)
        kept = copied(device)
        kept.last_seen_at = stored.last_seen_at  # record_seen's alone, as in SQL
        self._devices.put(device.id, kept)

    async def record_seen(self, device_id: UUID, at: datetime) -> None:
        device = copied(self._devices.get(device_id))
        if device is not None:
            device.seen(at)
            self._devices.put(device_id, device)
            self._seen[device_id] = max(at, self._seen.get(device_id, at))

    async def list(self, page: PageRequest = DEFAULT_PAGE) -> Page[Device]:
        found = sorted(self._devices.values(), key=lambda d: (d.name.casefold(), d.id))
        return paginate([copied(d) for d in found], page)

    def validate_commit(self) -> None:
        for device_id in self._devices.inserts_taken():
            raise AlreadyExists(f"device {device_id} already exists")
        for device_id, at in self._seen.items():
            committed = self._devices.base.get(device_id)
            if committed is not None:
                moved = copied(committed)
                moved.seen(at)
                self._devices.put(device_id, moved)

    def reset(self) -> None:
        self._seen.clear()
