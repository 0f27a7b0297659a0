"""The appointments feature (``hduce.application.appointments``): the lifecycle use
cases, booking behind an ``Idempotency-Key``, and an appointment with its parties'
names and emails (the iCalendar file's ORGANIZER and ATTENDEE)."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.appointments.booking import BookAppointment
from hduce.application.appointments.expiry import ExpireOverdueAppointments
from hduce.application.appointments.idempotency import BookAppointmentOnce, BookSeriesOnce
from hduce.application.appointments.parties import GetAppointmentWithParties
from hduce.application.appointments.queries import (
    GetAppointment,
    ListAppointments,
    ListAppointmentViews,
)
from hduce.application.appointments.reschedule import RescheduleAppointment
from hduce.application.appointments.series import (
    BookSeries,
    CancelSeriesOccurrences,
    GetSeries,
    PreviewSeries,
    RescheduleSeriesOccurrences,
    SeriesOfAppointments,
)
from hduce.application.appointments.transitions import (
    AcceptAppointment,
    ApproveAppointment,
    CancelAppointment,
    CheckInAppointment,
    CompleteAppointment,
    DeclineAppointment,
    EnterInError,
    MarkNoShow,
    RejectAppointment,
)
from hduce.application.ports import AppointmentMetrics, Clock, UnitOfWorkFactory
from hduce.domain.scheduling import SchedulingPolicy


class AppointmentsProvider(Provider):
    scope = Scope.APP

    book = provide(BookAppointment)
    approve = provide(ApproveAppointment)
    reject = provide(RejectAppointment)
    accept = provide(AcceptAppointment)
    decline = provide(DeclineAppointment)
    cancel = provide(CancelAppointment)
    check_in = provide(CheckInAppointment)
    complete = provide(CompleteAppointment)
    no_show = provide(MarkNoShow)
    enter_in_error = provide(EnterInError)
    reschedule = provide(RescheduleAppointment)
    expire_overdue = provide(ExpireOverdueAppointments)
    get_appointment = provide(GetAppointment)
    list_appointments = provide(ListAppointments)
    list_appointment_views = provide(ListAppointmentViews)
    appointment_with_parties = provide(GetAppointmentWithParties)
    preview_series = provide(PreviewSeries)
    book_series = provide(BookSeries)
    get_series = provide(GetSeries)
    series_of_appointments = provide(SeriesOfAppointments)
    cancel_series = provide(CancelSeriesOccurrences)
    reschedule_series = provide(RescheduleSeriesOccurrences)

    @provide
    def book_once(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        policy: SchedulingPolicy,
        metrics: AppointmentMetrics,
    ) -> BookAppointmentOnce:
        return BookAppointmentOnce(uow_factory, clock, policy, metrics=metrics)

    @provide
    def book_series_once(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, book: BookSeries
    ) -> BookSeriesOnce:
        return BookSeriesOnce(uow_factory, clock, book)
