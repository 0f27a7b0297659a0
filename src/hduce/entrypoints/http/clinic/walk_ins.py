"""``POST /api/v1/patients``: an admin makes a walk-in patient's account (no password;
a "set your password" link is emailed), and sends that link again."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hduce.application.clinic.walk_ins import (
    CreateWalkInPatient,
    ResendPasswordSetup,
    WalkInPatient,
)
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.auth import NO_STORE
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    requires_role,
)
from hduce.entrypoints.http.clinic.responses import INVALID, SIGNED_IN, problem
from hduce.entrypoints.http.clinic.schemas.walk_ins import (
    PasswordLinkSent,
    WalkInCreate,
    WalkInCreated,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    not_found_example,
    problem_example,
)

LINK_SENT: Final = "A new link to set the password is on its way to the patient's address."


class WalkInPatientsController(Controller):
    path = "/patients"
    tags = ("patients",)
    guards = (json_bodies_only, requires_role(Role.ADMIN))
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/",
        status_code=201,
        summary="Create a walk-in patient's account (admin)",
        description="Admin only. Creates a patient account with no password, and the "
        "patient's profile, then emails the address a single-use link to "
        "`<HDUCE_PUBLIC_URL>/set-password?token=...` (working for "
        "`HDUCE_PASSWORD_SETUP_TTL`, 7 days by default): opening it sets the password "
        "(`POST /auth/password-setup`) and confirms the address. Until then the account "
        "cannot sign in with a password, and staff may book for it. A taken email is "
        "`409 already-exists`.",
        responses={
            **INVALID,
            **SIGNED_IN,
            409: problem(
                409,
                "The email is already registered",
                problem_example(
                    409, "already-exists", "an account with this email address exists already"
                ),
            ),
        },
    )
    async def create_walk_in(
        self,
        data: JSONBody[WalkInCreate],
        actor: NamedDependency[Actor],
        create: FromDishka[CreateWalkInPatient],
    ) -> Response[WalkInCreated]:
        record = await create(
            actor,
            WalkInPatient(
                email=data.email,
                full_name=data.full_name,
                phone=data.phone,
                timezone=data.timezone,
                date_of_birth=data.date_of_birth,
                sex=data.sex,
                emergency_contact_name=data.emergency_contact_name,
                emergency_contact_phone=data.emergency_contact_phone,
            ),
        )
        return Response(
            WalkInCreated.of_walk_in(record),
            status_code=201,
            headers={"Location": f"/api/v1/patients/{record.id}"},
        )

    @post(
        "/{patient_id:uuid}/password-link",
        status_code=202,
        summary="Email a walk-in patient a new link to set the password (admin)",
        description="Admin only, for a patient account that has no password yet; earlier "
        "links keep working until they expire. Limited per account (`429`).",
        responses={
            **MALFORMED_REQUEST,
            **SIGNED_IN,
            404: problem(404, "No such patient", not_found_example("patient", demo.PATIENT_ID)),
            422: problem(
                422,
                "The account has a password already (`password-already-set`) or is "
                "deactivated (`account-deactivated`)",
                problem_example(
                    422,
                    "password-already-set",
                    "this account has a password already; its owner may reset it",
                ),
            ),
            429: problem(
                429,
                "Too many links asked for (Retry-After)",
                problem_example(
                    429,
                    "rate-limited",
                    "too many requests; retry after 600 s",
                    retry_after_seconds=600,
                ),
            ),
        },
    )
    async def resend_password_link(
        self,
        patient_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        resend: FromDishka[ResendPasswordSetup],
    ) -> Response[PasswordLinkSent]:
        await resend(actor, patient_id)
        return Response(PasswordLinkSent(LINK_SENT), status_code=202, headers=NO_STORE)
