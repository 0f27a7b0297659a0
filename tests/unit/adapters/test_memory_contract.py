"""The in-memory adapters against the shared port contracts (``contract.py``)."""

from __future__ import annotations

import pytest

from hduce.adapters.memory import InMemoryRateLimiter
from tests.fakes import FixedClock
from tests.unit.adapters.contract import (
    AppointmentRepositoryContract,
    AuditLogContract,
    AvailabilityRepositoryContract,
    CacheContract,
    DeviceRepositoryContract,
    DoctorRepositoryContract,
    IdempotencyStoreContract,
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
