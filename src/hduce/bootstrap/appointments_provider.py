"""What the appointment and notification HTTP endpoints need beyond ``UseCaseProvider``
(which already provides the appointment use cases and the notification inbox):

* ``BookAppointmentOnce``: booking behind an ``Idempotency-Key``;
* ``GetAppointmentWithParties``: an appointment with its parties' names and emails
  (the iCalendar file's ORGANIZER and ATTENDEE);
* ``RealtimeSubscriber``: the listening side of the live fan-out (the SSE stream),
  i.e. the very fan-out ``HandleEventNotifications`` publishes to.

Everything is APP scoped. Add ``AppointmentsHttpProvider()`` after the providers of
``UnitOfWorkFactory``, ``Clock``, ``SchedulingPolicy`` and ``InMemoryRealtimeFanout``.
"""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.adapters.memory.realtime import InMemoryRealtimeFanout
from hduce.application.appointments.idempotency import BookAppointmentOnce
from hduce.application.appointments.parties import GetAppointmentWithParties
from hduce.application.ports import Clock, RealtimeSubscriber, UnitOfWorkFactory
from hduce.domain.scheduling import SchedulingPolicy


class AppointmentsHttpProvider(Provider):
    scope = Scope.APP

    appointment_with_parties = provide(GetAppointmentWithParties)

    @provide
    def book_once(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: SchedulingPolicy
    ) -> BookAppointmentOnce:
        return BookAppointmentOnce(uow_factory, clock, policy)

    @provide
    def realtime_subscriber(self, fanout: InMemoryRealtimeFanout) -> RealtimeSubscriber:
        # Typed as the port: mypy checks here that the in-memory fan-out conforms.
        return fanout
