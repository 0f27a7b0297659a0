"""Bodies of ``/doctors/{id}/visit-types``: a doctor's kinds of visit and their rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.availability.visit_types import VisitTypeFields
from hduce.domain.visit_types import VisitType
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import PlainText

Name = Annotated[PlainText, Meta(min_length=1, max_length=120, examples=["First visit"])]
Duration = Annotated[
    int, Meta(ge=5, le=480, description="Length of the visit, in minutes.", examples=[40])
]
Buffer = Annotated[
    int,
    Meta(
        ge=0,
        le=120,
        description="Doctor's time blocked next to the visit, in minutes (not the patient's).",
        examples=[10],
    ),
]
Horizon = Annotated[
    int, Meta(ge=1, le=730, description="How far ahead it may be booked, in days.", examples=[30])
]
Notice = Annotated[
    int,
    Meta(
        ge=0,
        le=86_400,
        description="How long before the visit it must be booked, in minutes.",
        examples=[1440],
    ),
]


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


class VisitTypeBody(msgspec.Struct, forbid_unknown_fields=True):
    """A visit type as the doctor (or an admin) writes it: the whole of it."""

    name: Name
    duration_minutes: Duration
    buffer_before_minutes: Buffer = 0
    buffer_after_minutes: Annotated[Buffer, ex(5)] = 0
    booking_horizon_days: Horizon = 90
    minimum_notice_minutes: Annotated[Notice, ex(60)] = 60

    def to_fields(self) -> VisitTypeFields:
        return VisitTypeFields(
            name=self.name,
            duration=timedelta(minutes=self.duration_minutes),
            buffer_before=timedelta(minutes=self.buffer_before_minutes),
            buffer_after=timedelta(minutes=self.buffer_after_minutes),
            booking_horizon=timedelta(days=self.booking_horizon_days),
            minimum_notice=timedelta(minutes=self.minimum_notice_minutes),
        )


class VisitTypeView(msgspec.Struct):
    id: Annotated[UUID, ex(demo.VISIT_TYPE_ID)]
    doctor_id: Annotated[UUID, ex(demo.DOCTOR_ID)]
    name: Annotated[str, ex("First visit")]
    duration_minutes: Annotated[int, ex(40)]
    buffer_before_minutes: Annotated[int, ex(10)]
    buffer_after_minutes: Annotated[int, ex(5)]
    booking_horizon_days: Annotated[int, ex(30)]
    minimum_notice_minutes: Annotated[int, ex(1440)]
    #: Increases by one with every change.
    version: Annotated[int, ex(1)]

    @classmethod
    def of(cls, visit_type: VisitType) -> VisitTypeView:
        return cls(
            id=visit_type.id,
            doctor_id=visit_type.doctor_id,
            name=visit_type.name,
            duration_minutes=_minutes(visit_type.duration),
            buffer_before_minutes=_minutes(visit_type.buffer_before),
            buffer_after_minutes=_minutes(visit_type.buffer_after),
            booking_horizon_days=visit_type.booking_horizon.days,
            minimum_notice_minutes=_minutes(visit_type.minimum_notice),
            version=visit_type.version,
        )
