"""What every ``/appointments`` handler answers with: views with their ``ETag``,
the problem responses documented in OpenAPI, and the ``If-Match`` header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final
from uuid import UUID

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.spec import (
    Example,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import HeaderParameter

from hduce.domain.appointments import Appointment
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.appointments.etags import etag
from hduce.entrypoints.http.appointments.ics import ICS_MEDIA_TYPE
from hduce.entrypoints.http.appointments.schemas import AppointmentView, StoredIdentity
from hduce.entrypoints.http.preconditions import IF_MATCH, WEAK_IF_MATCH_EXAMPLE
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_input_example,
    invalid_request_example,
    not_found_example,
    problem_example,
    problem_spec,
)

REPLAYED_HEADER: Final = "Idempotent-Replayed"

_encoder = msgspec.json.Encoder()


problem = problem_spec

SLOT_CONFLICT_EXAMPLE = problem_example(
    409,
    "slot-conflict",
    f"the requested time overlaps {demo.APPOINTMENT_ID}",
    conflicting_appointment_ids=[demo.APPOINTMENT_ID],
)
STALE_VERSION_EXAMPLE = problem_example(
    412,
    "stale-version",
    f"appointment {demo.APPOINTMENT_ID} changed: expected version 1, found 2",
    expected_version=1,
    actual_version=2,
)
#: The same without a precondition: a concurrent change won between read and write.
LOST_RACE_EXAMPLE = problem_example(
    409,
    "stale-version",
    f"appointment {demo.APPOINTMENT_ID} changed: expected version 1, found 2",
    expected_version=1,
    actual_version=2,
)
ILLEGAL_TRANSITION_EXAMPLE = problem_example(
    422,
    "illegal-transition",
    f"doctor {demo.DOCTOR_ID} may not move an appointment from cancelled to approved: "
    "not allowed from cancelled",
    from_status="cancelled",
    to_status="approved",
)
NAIVE_TIMESTAMP_EXAMPLE = invalid_input_example(
    "starts_at", "starts_at must carry a UTC offset (e.g. 2030-01-31T09:00:00+01:00)"
)

AUTH_ERRORS = {
    401: problem(401, "Not authenticated"),
    403: problem(
        403,
        "Asking for someone else's appointments",
        problem_example(403, "forbidden", "patients list only their own appointments"),
    ),
}
READ_ERRORS = {
    **MALFORMED_REQUEST,
    401: AUTH_ERRORS[401],
    404: problem(
        404,
        "No such appointment, or one the caller is no party to (the same answer: "
        "ids cannot be probed; admins see every appointment)",
        not_found_example("appointment", demo.APPOINTMENT_ID),
    ),
}
CHANGE_ERRORS = {
    **READ_ERRORS,
    403: problem(
        403,
        "`csrf-failed`: a cookie-authenticated request without its CSRF header",
        problem_example(
            403,
            "csrf-failed",
            "cookie-authenticated POST requests need the X-CSRF-Token header "
            "(the value of the __Host-hduce_csrf cookie)",
        ),
    ),
    400: problem(
        400,
        "Malformed body, naive timestamp or bad If-Match",
        NAIVE_TIMESTAMP_EXAMPLE,
        invalid_request_example("reason", "Expected `str` of length >= 1"),
    ),
    409: problem(
        409,
        "`slot-conflict` (body: conflicting_appointment_ids, those the caller is a party "
        "to); or `stale-version` when, without If-Match, a concurrent change won (retry)",
        SLOT_CONFLICT_EXAMPLE,
        LOST_RACE_EXAMPLE,
    ),
    412: problem(
        412,
        "If-Match failed: `stale-version`, it names an older version (body: "
        "expected_version, actual_version); or a weak tag, which never matches",
        STALE_VERSION_EXAMPLE,
        WEAK_IF_MATCH_EXAMPLE,
    ),
    422: problem(
        422,
        "`illegal-transition` (not allowed from this status, by this actor, or at this time)",
        ILLEGAL_TRANSITION_EXAMPLE,
    ),
}

#: ``GET /appointments/{id}.ics`` for Ana's approved visit, as ``ics.py`` writes it
#: (long lines folded at 75 octets, as RFC 5545 wants).
ICS_EXAMPLE = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//HDUCE//Appointments 1.0//EN\r\n"
    "CALSCALE:GREGORIAN\r\n"
    "METHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\n"
    "SUMMARY:Medical appointment: Ana García with Dr. Lucía Romero\r\n"
    "DTSTART:20300108T080000Z\r\n"
    "DTEND:20300108T083000Z\r\n"
    "DTSTAMP:20300103T081527Z\r\n"
    "UID:01b8e3b6-9138-7d36-8e2f-0a5b7c9d1e42@hduce\r\n"
    "SEQUENCE:2\r\n"
    'ATTENDEE;CN="Ana García";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:an\r\n'
    " a.garcia@example.org\r\n"
    "CREATED:20300102T174003Z\r\n"
    "DESCRIPTION:Status: approved\\nReason: Persistent cough for two weeks\r\n"
    "LAST-MODIFIED:20300103T081527Z\r\n"
    'ORGANIZER;CN="Dr. Lucía Romero";ROLE=CHAIR:mailto:lucia.romero@example.or\r\n'
    " g\r\n"
    "STATUS:CONFIRMED\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)

IF_MATCH_DOC = (
    'Send `If-Match` with the ETag you last saw (`"3"`) so the change only applies to '
    "that version; a stale one gets 412 `stale-version` and nothing changes. Tags "
    'compare strongly: a weak one (`W/"3"`) never matches (412).'
)
ETAG_HEADER = ResponseHeader(
    name="ETag",
    value='"<version>"',
    description="The appointment's version, for If-Match / If-None-Match",
    documentation_only=True,
)

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name=IF_MATCH,
        required=False,
        description='ETag of the version seen, e.g. "3" (compared strongly: W/"3" never matches)',
        # What ``etags.expected_version`` reads (documented; that function answers
        # anything else with 400 ``invalid-input``).
        schema_extra={"pattern": r'^\s*(\*|(W/)?"\d{1,18}")\s*$'},
    ),
]


def view_bytes(appointment: Appointment) -> bytes:
    return _encoder.encode(AppointmentView.of(appointment))


def location(appointment_id: UUID | str) -> str:
    return f"/api/v1/appointments/{appointment_id}"


def with_etag(appointment: Appointment, status_code: int = 200) -> Response[AppointmentView]:
    return Response(
        AppointmentView.of(appointment),
        status_code=status_code,
        headers={"ETag": etag(appointment.version)},
    )


def created(body: bytes, *, status_code: int = 201, replayed: bool = False) -> Response[bytes]:
    """The stored or fresh body of a booking, byte for byte, with its headers."""
    identity = msgspec.json.decode(body, type=StoredIdentity)
    headers = {"ETag": etag(identity.version), "Location": location(identity.id)}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


@dataclass
class CalendarAlternative(Operation):
    """The JSON read's operation, whose route also serves ``{id}.ics``: its 200 lists
    ``text/calendar`` beside JSON (Litestar writes one media type per response)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                **(ok.content or {}),
                ICS_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING),
                    examples={
                        "ics": Example(summary="`{id}.ics`: an approved visit", value=ICS_EXAMPLE)
                    },
                ),
            }
