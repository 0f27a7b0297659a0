"""Console pages where admins change what exists: a doctor's profile (specialty,
licence, fee, visit length, time zone, bio) and whether their account is active, and a
specialty's name and description. The same use cases as ``PATCH /api/v1/doctors/{id}``,
``PATCH /api/v1/admin/users/{id}`` and ``PATCH /api/v1/specialties/{id}``.

Not here, because no use case offers it: renaming a doctor (a person's name is theirs
to change, on their profile) and retiring a specialty (specialties have no active flag).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.clinic.doctors import DoctorChanges, DoctorProfile, GetDoctor, UpdateDoctor
from hduce.application.clinic.specialties import (
    ListSpecialties,
    SpecialtyChanges,
    UpdateSpecialty,
)
from hduce.application.identity.accounts import SetUserActive
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.views import go, render, viewer_of


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _doctor_form(profile: DoctorProfile) -> dict[str, str]:
    doctor = profile.doctor
    return {
        "specialty_id": str(doctor.specialty_id),
        "licence_number": doctor.licence_number,
        "consultation_fee": str(doctor.consultation_fee),
        "visit_minutes": str(doctor.visit_minutes),
        "timezone": doctor.timezone,
        "bio": doctor.bio,
        "version": str(doctor.version),
    }


def _changes(form: dict[str, str]) -> DoctorChanges:
    try:
        specialty_id = UUID(form.get("specialty_id", ""))
    except ValueError:
        raise InvalidInput("choose a specialty", field="specialty_id") from None
    try:
        fee = Decimal(form.get("consultation_fee", "") or "0")
    except InvalidOperation:
        raise InvalidInput(
            "consultation_fee must be an amount such as 25.00", field="consultation_fee"
        ) from None
    try:
        minutes = int(form.get("visit_minutes", ""))
    except ValueError:
        raise InvalidInput("visit_minutes must be a whole number", field="visit_minutes") from None
    return DoctorChanges(
        licence_number=form.get("licence_number", ""),
        specialty_id=specialty_id,
        consultation_fee=fee,
        timezone=form.get("timezone", "").strip(),
        visit_minutes=minutes,
        bio=form.get("bio", ""),
    )


class AdminEditPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/doctors/{doctor_id:uuid}/edit")
    async def edit_doctor(
        self,
        request: Request[Any, Any, Any],
        doctor_id: FromPath[UUID],
        get_doctor: FromDishka[GetDoctor],
        list_specialties: FromDishka[ListSpecialties],
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        profile = await get_doctor(doctor_id)
        return render(
            request,
            viewer,
            "admin_edit_doctor.html",
            profile=profile,
            specialties=await list_specialties(),
            form=_doctor_form(profile),
            done=request.query_params.get("done"),
        )

    @post("/doctors/{doctor_id:uuid}/edit")
    async def update_doctor(
        self,
        request: Request[Any, Any, Any],
        doctor_id: FromPath[UUID],
        update: FromDishka[UpdateDoctor],
        get_doctor: FromDishka[GetDoctor],
        list_specialties: FromDishka[ListSpecialties],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)
        version = form.get("version", "")

        async def context(_: DomainError) -> dict[str, Any]:
            return {
                "profile": await get_doctor(doctor_id),
                "specialties": await list_specialties(),
            }

        await submit_form(
            request,
            viewer,
            "admin_edit_doctor.html",
            # The version the form was drawn from: an edit made meanwhile is not
            # overwritten (409, the form again with the detail).
            lambda: update(
                actor,
                doctor_id,
                _changes(form),
                expected_version=int(version) if version.isdigit() else None,
            ),
            more=context,
            form=form,
        )
        return go(request, f"/admin/doctors/{doctor_id}/edit?done=saved")

    @post("/doctors/{doctor_id:uuid}/active")
    async def set_doctor_active(
        self,
        request: Request[Any, Any, Any],
        doctor_id: FromPath[UUID],
        set_active: FromDishka[SetUserActive],
        get_doctor: FromDishka[GetDoctor],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        profile = await get_doctor(doctor_id)
        active = (await _form(request)).get("active") == "true"
        await set_active(actor, profile.user.id, active)
        done = "activated" if active else "deactivated"
        return go(request, f"/admin/doctors/{doctor_id}/edit?done={done}")

    @post("/specialties/{specialty_id:uuid}")
    async def update_specialty(
        self,
        request: Request[Any, Any, Any],
        specialty_id: FromPath[UUID],
        update: FromDishka[UpdateSpecialty],
        list_specialties: FromDishka[ListSpecialties],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)

        async def context(_: DomainError) -> dict[str, Any]:
            return {"specialties": await list_specialties()}

        await submit_form(
            request,
            viewer,
            "admin_specialties.html",
            lambda: update(
                actor,
                specialty_id,
                SpecialtyChanges(
                    name=form.get("name", ""), description=form.get("description", "")
                ),
            ),
            more=context,
            editing=str(specialty_id),
            edit_form=form,
        )
        return go(request, "/admin/specialties?done=renamed")


__all__ = ["AdminEditPages"]
