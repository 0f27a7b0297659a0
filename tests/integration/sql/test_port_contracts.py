"""The SQL adapters against the shared port contracts (tests/unit/adapters/contract.py),
on PostgreSQL and SQLite: the same behaviour as the in-memory adapters."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hduce.adapters.sql import SqlOutbox
from tests.unit.adapters.contract import (
    AppointmentRepositoryContract,
    AuditLogContract,
    AvailabilityRepositoryContract,
    DeviceRepositoryContract,
    DoctorRepositoryContract,
    IdempotencyStoreContract,
    InstitutionRepositoryContract,
    NotificationRepositoryContract,
    OutboxContract,
    PatientRepositoryContract,
    ProcessedEventsContract,
    SpecialtyRepositoryContract,
    UnitOfWorkContract,
    UserRepositoryContract,
)


class TestSqlUsers(UserRepositoryContract):
    pass


class TestSqlPatients(PatientRepositoryContract):
    pass


class TestSqlSpecialties(SpecialtyRepositoryContract):
    pass


class TestSqlDoctors(DoctorRepositoryContract):
    pass


class TestSqlAvailability(AvailabilityRepositoryContract):
    pass


class TestSqlInstitutions(InstitutionRepositoryContract):
    pass


class TestSqlAppointments(AppointmentRepositoryContract):
    pass


class TestSqlNotifications(NotificationRepositoryContract):
    pass


class TestSqlAuditLog(AuditLogContract):
    pass


class TestSqlIdempotency(IdempotencyStoreContract):
    pass


class TestSqlProcessedEvents(ProcessedEventsContract):
    pass


class TestSqlUnitOfWork(UnitOfWorkContract):
    pass


class TestSqlOutbox(OutboxContract):
    pass


class TestSqlOutboxPublishingConcurrently(OutboxContract):
    """The same contract when a batch goes to a broker (aggregates in parallel)."""

    @pytest.fixture
    def outbox(self, engine: AsyncEngine) -> SqlOutbox:
        return SqlOutbox(engine, publish_concurrently=True)


class TestSqlDevices(DeviceRepositoryContract):
    pass
