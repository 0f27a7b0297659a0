"""In-memory repositories: the ports of ``hduce.application.ports`` over ``StoreTables``.

One module per port, as in ``hduce.adapters.sql.repositories``. They behave like
the SQL ones: uniqueness and overlap rules are checked when a row is written (as
a constraint would) and again at commit against whatever other units of work
committed meanwhile; stored objects are deep-copied in and out so nobody can
change them behind the unit of work's back.
"""

from hduce.adapters.memory.repositories.appointments import InMemoryAppointmentRepository
from hduce.adapters.memory.repositories.audit import InMemoryAuditLog
from hduce.adapters.memory.repositories.availability import InMemoryAvailabilityRepository
from hduce.adapters.memory.repositories.devices import InMemoryDeviceRepository
from hduce.adapters.memory.repositories.doctors import InMemoryDoctorRepository
from hduce.adapters.memory.repositories.idempotency import InMemoryIdempotencyStore
from hduce.adapters.memory.repositories.institutions import InMemoryInstitutionRepository
from hduce.adapters.memory.repositories.notifications import InMemoryNotificationRepository
from hduce.adapters.memory.repositories.patients import InMemoryPatientRepository
from hduce.adapters.memory.repositories.processed_events import InMemoryProcessedEvents
from hduce.adapters.memory.repositories.series import InMemorySeriesRepository
from hduce.adapters.memory.repositories.specialties import InMemorySpecialtyRepository
from hduce.adapters.memory.repositories.users import InMemoryUserRepository
from hduce.adapters.memory.repositories.visit_types import InMemoryVisitTypeRepository
from hduce.adapters.memory.repositories.waitlist import InMemoryWaitlistRepository

__all__ = [
    "InMemoryAppointmentRepository",
    "InMemoryAuditLog",
    "InMemoryAvailabilityRepository",
    "InMemoryDeviceRepository",
    "InMemoryDoctorRepository",
    "InMemoryIdempotencyStore",
    "InMemoryInstitutionRepository",
    "InMemoryNotificationRepository",
    "InMemoryPatientRepository",
    "InMemoryProcessedEvents",
    "InMemorySeriesRepository",
    "InMemorySpecialtyRepository",
    "InMemoryUserRepository",
    "InMemoryVisitTypeRepository",
    "InMemoryWaitlistRepository",
]
