"""The availability feature (``hduce.application.availability``): working hours, time
off, extra hours and free slots, in UTC and in the doctor's local calendar."""

from __future__ import annotations

from dishka import Provider, Scope, provide

from hduce.application.availability.free_slots import ListFreeSlots
from hduce.application.availability.hours import (
    AddExtraHours,
    AddTimeOff,
    GetWorkingHours,
    SetWorkingHours,
)
from hduce.application.availability.local_calendar import AddDoctorTimeOff, ListDoctorSlots
from hduce.application.availability.slot_search import SearchFreeSlots
from hduce.application.availability.visit_types import (
    CreateVisitType,
    DeleteVisitType,
    ListVisitTypes,
    UpdateVisitType,
)


class AvailabilityProvider(Provider):
    scope = Scope.APP

    get_working_hours = provide(GetWorkingHours)
    set_working_hours = provide(SetWorkingHours)
    add_time_off = provide(AddTimeOff)
    add_extra_hours = provide(AddExtraHours)
    list_free_slots = provide(ListFreeSlots)
    list_doctor_slots = provide(ListDoctorSlots)
    search_free_slots = provide(SearchFreeSlots)
    add_doctor_time_off = provide(AddDoctorTimeOff)
    list_visit_types = provide(ListVisitTypes)
    create_visit_type = provide(CreateVisitType)
    update_visit_type = provide(UpdateVisitType)
    delete_visit_type = provide(DeleteVisitType)
