"""The in-memory adapters against the shared port contracts (``contract.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hduce.adapters.memory import InMemoryRateLimiter, InMemoryStore, InMemoryUnitOfWorkFactory
from tests.fakes import FixedClock
from tests.unit.adapters.contract import (
    NOW,
    AppointmentRepositoryContract,
    AuditLogContract,
    AvailabilityRepositoryContract,
    CacheContract,
    DeviceRepositoryContract,
    DoctorRepositoryContract,
    IdempotencyStoreContract,
    InstitutionRepositoryContract,
    NotificationRepositoryContract,
    OutboxContract,
    PatientRepositoryContract,
    ProcessedEventsContract,
    RateLimiterContract,
    RealtimeFanoutContract,
    RefreshTokenStoreContract,
    SpecialtyRepositoryContract,
    StreamSlotsContract,
    TokenDenylistContract,
    UnitOfWorkContract,
    UserRepositoryContract,
    new_device,
)


class TestMemoryUsers(UserRepositoryContract):
    pass


class TestMemoryPatients(PatientRepositoryContract):
    pass


class TestMemorySpecialties(SpecialtyRepositoryContract):
    pass


class TestMemoryDoctors(DoctorRepositoryContract):
    pass


class TestMemoryAvailability(AvailabilityRepositoryContract):
    pass


class TestMemoryInstitutions(InstitutionRepositoryContract):
    pass


class TestMemoryAppointments(AppointmentRepositoryContract):
    pass


class TestMemoryNotifications(NotificationRepositoryContract):
    pass


class TestMemoryAuditLog(AuditLogContract):
    pass


class TestMemoryIdempotency(IdempotencyStoreContract):
    pass


class TestMemoryProcessedEvents(ProcessedEventsContract):
    pass


class TestMemoryUnitOfWork(UnitOfWorkContract):
    pass


class TestMemoryOutbox(OutboxContract):
    pass


class TestMemoryCache(CacheContract):
    pass


class TestMemorySlidingRateLimiter(RateLimiterContract):
    pass


class TestMemoryFixedRateLimiter(RateLimiterContract):
    @pytest.fixture
    def rate_limiter(self, clock: FixedClock) -> InMemoryRateLimiter:
        return InMemoryRateLimiter(clock, algorithm="fixed")


class TestMemoryFanout(RealtimeFanoutContract):
    pass


class TestMemoryStreamSlots(StreamSlotsContract):
    pass


class TestMemoryRefreshTokens(RefreshTokenStoreContract):
    pass


class TestMemoryDenylist(TokenDenylistContract):
    pass


class TestMemoryDevices(DeviceRepositoryContract):
    pass


async def test_a_heartbeat_committed_after_a_revocation_keeps_it() -> None:
    """The in-memory store moves only last-seen at commit, as SQL's one-column UPDATE:
    a revocation another unit of work committed in between stays."""
    uow_factory = InMemoryUnitOfWorkFactory(InMemoryStore(), FixedClock(NOW))
    device = new_device()
    async with uow_factory() as uow:
        await uow.devices.add(device)
        await uow.commit()
    async with uow_factory() as heartbeat:
        await heartbeat.devices.record_seen(device.id, NOW + timedelta(minutes=1))
        async with uow_factory() as revocation:
            revoked = await revocation.devices.get(device.id)
            assert revoked is not None and revoked.revoke(NOW)
            await revocation.devices.save(revoked)
            await revocation.commit()
        await heartbeat.commit()
    async with uow_factory() as uow:
        stored = await uow.devices.get(device.id)
    assert stored is not None and stored.is_revoked
    assert stored.last_seen_at == NOW + timedelta(minutes=1)
