"""One repository per port of ``hduce.application.ports``, all bound to one session."""

from hduce.adapters.sql.repositories.appointments import SqlAppointmentRepository
from hduce.adapters.sql.repositories.audit import SqlAuditLog
from hduce.adapters.sql.repositories.availability import SqlAvailabilityRepository
from hduce.adapters.sql.repositories.devices import SqlDeviceRepository
from hduce.adapters.sql.repositories.doctors import SqlDoctorRepository
from hduce.adapters.sql.repositories.idempotency import SqlIdempotencyStore
from hduce.adapters.sql.repositories.institutions import SqlInstitutionRepository
from hduce.adapters.sql.repositories.notifications import SqlNotificationRepository
from hduce.adapters.sql.repositories.patients import SqlPatientRepository
from hduce.adapters.sql.repositories.processed_events import SqlProcessedEvents
from hduce.adapters.sql.repositories.series import SqlSeriesRepository
from hduce.adapters.sql.repositories.specialties import SqlSpecialtyRepository
from hduce.adapters.sql.repositories.users import SqlUserRepository
from hduce.adapters.sql.repositories.visit_types import SqlVisitTypeRepository
from hduce.adapters.sql.repositories.waitlist import SqlWaitlistRepository

__all__ = [
    "SqlAppointmentRepository",
    "SqlAuditLog",
    "SqlAvailabilityRepository",
    "SqlDeviceRepository",
    "SqlDoctorRepository",
    "SqlIdempotencyStore",
    "SqlInstitutionRepository",
    "SqlNotificationRepository",
    "SqlPatientRepository",
    "SqlProcessedEvents",
    "SqlSeriesRepository",
    "SqlSpecialtyRepository",
    "SqlUserRepository",
    "SqlVisitTypeRepository",
    "SqlWaitlistRepository",
]
