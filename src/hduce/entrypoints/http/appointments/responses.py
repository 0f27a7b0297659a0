"""What every ``/appointments`` handler answers with: views with their ``ETag``,
the problem responses documented in OpenAPI, and the ``If-Match`` header."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

import msgspec
from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter

from hduce.domain.appointments import Appointment
from hduce.entrypoints.http.appointments.etags import IF_MATCH, etag
from hduce.entrypoints.http.appointments.schemas import AppointmentView, StoredIdentity
from hduce.entrypoints.http.problems import Problem

REPLAYED_HEADER: Final = "Idempotent-Replayed"

_encoder = msgspec.json.Encoder()


def problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description)


AUTH_ERRORS = {401: problem("Not authenticated"), 403: problem("Not a party to this appointment")}
READ_ERRORS = {**AUTH_ERRORS, 404: problem("No such appointment")}
CHANGE_ERRORS = {
    **READ_ERRORS,
    400: problem("Malformed body, naive timestamp or bad If-Match"),
    409: problem(
        "`stale-version`: If-Match names an older version (body: expected_version, "
        "actual_version); or `slot-conflict` (body: conflicting_appointment_ids)"
    ),
    422: problem(
        "`illegal-transition` (not allowed from this status, by this actor, or at this time)"
    ),
}

IF_MATCH_DOC = (
    'Send `If-Match` with the ETag you last saw (`"3"`, `W/"3"` also accepted) so the '
    "change only applies to that version; a stale one gets 409 `stale-version` and "
    "nothing changes."
)
ETAG_HEADER = ResponseHeader(
    name="ETag",
    value='"<version>"',
    description="The appointment's version, for If-Match / If-None-Match",
    documentation_only=True,
)

IfMatch = Annotated[
    str | None,
    HeaderParameter(name=IF_MATCH, required=False, description="ETag of the version seen"),
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
