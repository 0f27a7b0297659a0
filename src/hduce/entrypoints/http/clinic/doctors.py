"""``/api/v1/doctors``: the public catalogue, creation by an admin, profile edits.

Edits are optimistic: ``GET`` answers with ``ETag: "<version>"``; a ``PATCH`` with
``If-Match`` is refused with 412 ``stale-version`` when the profile changed meanwhile
(and with 412 for a weak tag, which never matches: ``preconditions.py``), one with a
``version`` field with 409 ``stale-version``. Without either, the edit applies to
whatever is current.
"""

from __future__ import annotations

import re
from typing import Annotated, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from msgspec import UnsetType

from hduce.application.clinic import (
    CreateDoctor,
    DoctorChanges,
    DoctorProfile,
    GetDoctor,
    ListDoctors,
    NewDoctor,
    UpdateDoctor,
)
from hduce.application.ports import DoctorQuery, PageRequest
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_role
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas import sent
from hduce.entrypoints.http.clinic.schemas.doctors import (
    DoctorCreate,
    DoctorCreated,
    DoctorPage,
    DoctorPatch,
    DoctorView,
)
from hduce.entrypoints.http.inputs import NO_NUL
from hduce.entrypoints.http.preconditions import IF_MATCH, WEAK_IF_MATCH_EXAMPLE, WeakIfMatch
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    not_found_example,
    problem_example,
)

_ETAG: Final = ResponseHeader(
    name="ETag",
    documentation_only=True,
    description='The profile\'s version, e.g. "3"; send it back as If-Match.',
)
_NOT_FOUND: Final = {
    404: problem(404, "No such doctor", not_found_example("doctor", demo.DOCTOR_ID))
}
#: "3" or a bare 3 (lenient: some clients drop the quotes); W/"3" is weak: refused.
_VERSION_TAG = re.compile(r'^(W/)?"?(\d{1,9})"?$')


def _etag(profile: DoctorProfile) -> dict[str, str]:
    return {"ETag": f'"{profile.doctor.version}"'}


def expected_version(if_match: str | None, body_version: int | None) -> tuple[int | None, bool]:
    """The version the client based its edit on, from ``If-Match`` or the body, and
    whether it came from ``If-Match`` (a precondition: 412 when it fails)."""
    from_header: int | None = None
    if if_match is not None and if_match.strip() != "*":
        found = _VERSION_TAG.match(if_match.strip())
        if found is None:
            raise InvalidInput('If-Match must be a version tag like "3"', field=IF_MATCH)
        if found.group(1):
            raise WeakIfMatch
        from_header = int(found.group(2))
    if from_header is not None and body_version is not None and from_header != body_version:
        raise InvalidInput("If-Match and version disagree; send one of them", field="version")
    if from_header is not None:
        return from_header, True
    return body_version, False


class DoctorsController(Controller):
    path = "/doctors"
    tags = ("doctors",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="Find doctors",
        description="The public catalogue, sorted by name: filter by specialty, by the "
        "institution the doctor works at (`institution_id`) and by a part of the doctor's "
        "name (case-insensitive). Paginated with `limit`/`offset`; `total` counts every "
        "match.",
        responses=INVALID,
    )
    async def list_doctors(
        self,
        list_doctors: FromDishka[ListDoctors],
        specialty_id: FromQuery[UUID | None] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(required=False, description="Only doctors who work there"),
        ] = None,
        name: Annotated[
            str | None,
            QueryParameter(max_length=200, pattern=NO_NUL, description="Part of the name"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> DoctorPage:
        page = await list_doctors(
            DoctorQuery(
                specialty_id=specialty_id,
                institution_id=institution_id,
                name=(name or "").strip() or None,
                page=PageRequest(limit=limit, offset=offset),
            )
        )
        return DoctorPage.of(page)

    @get(
        "/{doctor_id:uuid}",
        summary="A doctor's public profile",
        description="Public. The `ETag` header carries the version for conditional edits.",
        response_headers=[_ETAG],
        responses={**MALFORMED_REQUEST, **_NOT_FOUND},
    )
    async def get_doctor(
        self, doctor_id: FromPath[UUID], get_doctor: FromDishka[GetDoctor]
    ) -> Response[DoctorView]:
        profile = await get_doctor(doctor_id)
        return Response(DoctorView.of(profile), headers=_etag(profile))

    @post(
        "/",
        status_code=201,
        guards=[requires_role(Role.ADMIN)],
        summary="Add a doctor (account and profile)",
        description="Admin only. Creates the doctor's account (role doctor) and profile in "
        "one transaction: if the email or the licence number is taken, nothing is "
        "created. With `password` (same policy as registration) the doctor can sign in "
        "with it; without, the account has no password and the doctor signs in with "
        "Google using the same email. `timezone` (default: the clinic's) is both the "
        "account's and the one the working hours are kept in.",
        response_headers=[_ETAG],
        responses={
            **INVALID,
            **SIGNED_IN,
            409: problem(
                409,
                "The email or the licence number is already registered",
                problem_example(
                    409,
                    "already-exists",
                    f"licence number {demo.DOCTOR_LICENCE} is already registered",
                ),
            ),
        },
    )
    async def create_doctor(
        self,
        data: JSONBody[DoctorCreate],
        actor: NamedDependency[Actor],
        create: FromDishka[CreateDoctor],
    ) -> Response[DoctorCreated]:
        profile = await create(
            actor,
            NewDoctor(
                email=data.email,
                full_name=data.full_name,
                licence_number=data.licence_number,
                specialty_id=data.specialty_id,
                consultation_fee=data.consultation_fee,
                visit_minutes=data.visit_minutes,
                timezone=data.timezone,
                bio=data.bio,
                phone=data.phone,
                password=data.password,
            ),
        )
        headers = {**_etag(profile), "Location": f"/api/v1/doctors/{profile.id}"}
        return Response(DoctorCreated.of(profile), status_code=201, headers=headers)

    @patch(
        "/{doctor_id:uuid}",
        guards=[requires_role(Role.DOCTOR, Role.ADMIN)],
        summary="Edit a doctor's profile",
        description="The doctor edits their own bio, consultation fee, visit length and "
        "timezone; an admin edits any doctor's, licence number and specialty included. "
        'Only the fields sent change. Send the version read (`If-Match: "3"` or '
        "`version`) to be refused if someone changed the profile meanwhile: 412 for a "
        'stale `If-Match` (which compares strongly: a weak `W/"3"` never matches, 412), '
        "409 for a stale `version`.",
        response_headers=[_ETAG],
        responses={
            **INVALID,
            **SIGNED_IN,
            **_NOT_FOUND,
            409: problem(
                409,
                "stale-version: the profile changed since the body's `version`; "
                "or the licence number is taken",
                problem_example(
                    409,
                    "stale-version",
                    f"doctor {demo.DOCTOR_ID} changed: expected version 3, found 4",
                    expected_version=3,
                    actual_version=4,
                ),
                problem_example(
                    409,
                    "already-exists",
                    f"licence number {demo.DOCTOR_LICENCE} is already registered",
                ),
            ),
            412: problem(
                412,
                "`If-Match` failed: `stale-version` (the profile changed since that "
                "version), or a weak tag, which never matches",
                problem_example(
                    412,
                    "stale-version",
                    f"doctor {demo.DOCTOR_ID} changed: expected version 3, found 4",
                    expected_version=3,
                    actual_version=4,
                ),
                WEAK_IF_MATCH_EXAMPLE,
            ),
        },
    )
    async def update_doctor(
        self,
        doctor_id: FromPath[UUID],
        data: JSONBody[DoctorPatch],
        actor: NamedDependency[Actor],
        update: FromDishka[UpdateDoctor],
        if_match: Annotated[
            str | None,
            HeaderParameter(
                name=IF_MATCH,
                description='The version read, e.g. "3" (a strong tag)',
                # What ``expected_version`` reads (``_VERSION_TAG`` or ``*``; documented,
                # that function answers anything else with 400 ``invalid-input``).
                schema_extra={"pattern": r'^\s*(\*|(W/)?"?\d{1,9}"?)\s*$'},
            ),
        ] = None,
    ) -> Response[DoctorView]:
        changes = DoctorChanges(
            licence_number=sent(data.licence_number),
            specialty_id=sent(data.specialty_id),
            consultation_fee=sent(data.consultation_fee),
            timezone=sent(data.timezone),
            visit_minutes=sent(data.visit_minutes),
            bio=sent(data.bio),
        )
        body_version = None if isinstance(data.version, UnsetType) else data.version
        version, conditional = expected_version(if_match, body_version)
        profile = await update(
            actor, doctor_id, changes, expected_version=version, conditional=conditional
        )
        return Response(DoctorView.of(profile), headers=_etag(profile))
