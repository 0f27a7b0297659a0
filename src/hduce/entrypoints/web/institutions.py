"""Console pages of institutions (hospitals, clinics, sites; ADR 0025) for admins:
the list, a new one, its details changed, deactivated or reactivated, and the doctors
who work there added and removed. The same use cases as ``/api/v1/institutions``.

Where each doctor's hours are is chosen on the working-hours editor (``hours``), and
patients filter the doctor search by institution (``clinic``).
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.clinic.doctors import DoctorProfile, ListDoctors
from hduce.application.clinic.institutions import (
    AddDoctorToInstitution,
    CreateInstitution,
    GetInstitution,
    InstitutionChanges,
    ListInstitutions,
    NewInstitution,
    RemoveDoctorFromInstitution,
    SetInstitutionActive,
    UpdateInstitution,
)
from hduce.application.ports import DoctorQuery, InstitutionQuery, PageRequest
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.domain.institutions import Address, Institution, InstitutionKind
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.paging import Pager, asked_page
from hduce.entrypoints.web.views import go, render, viewer_of

INSTITUTIONS_PAGE: Final = 50
#: Doctors offered to add (and members listed) on one institution's page.
DOCTORS_SHOWN: Final = 200
KINDS: Final = tuple(kind.value for kind in InstitutionKind)
ADDRESS_FIELDS: Final = ("line1", "line2", "city", "postal_code", "region", "country")
_FIELDS: Final = ("name", "kind", "timezone", "version", *ADDRESS_FIELDS)
_MAX_FIELD: Final = 1024


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {
        key: str(value)[:_MAX_FIELD]
        for key, value in form.items()
        if isinstance(value, str) and key in _FIELDS
    }


def _kind(form: dict[str, str]) -> InstitutionKind:
    try:
        return InstitutionKind(form.get("kind", ""))
    except ValueError:
        raise InvalidInput(f"kind is one of {', '.join(KINDS)}", field="kind") from None


def _address(form: dict[str, str]) -> Address:
    return Address(
        line1=form.get("line1", ""),
        line2=form.get("line2", ""),
        city=form.get("city", ""),
        postal_code=form.get("postal_code", ""),
        region=form.get("region", ""),
        country=form.get("country", ""),
    )


def institution_form(institution: Institution) -> dict[str, str]:
    address = institution.address
    return {
        "name": institution.name,
        "kind": institution.kind.value,
        "timezone": institution.timezone,
        "version": str(institution.version),
        **{name: str(getattr(address, name)) for name in ADDRESS_FIELDS},
    }


class InstitutionPages(Controller):
    path = "/admin/institutions"
    include_in_schema = False

    @get("/")
    async def institutions(
        self, request: Request[Any, Any, Any], list_institutions: FromDishka[ListInstitutions]
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        search = (request.query_params.get("search") or "").strip()[:200]
        page = await list_institutions(
            InstitutionQuery(
                name=search or None,
                page=PageRequest(
                    limit=INSTITUTIONS_PAGE,
                    offset=(asked_page(request) - 1) * INSTITUTIONS_PAGE,
                ),
            )
        )
        return render(
            request,
            viewer,
            "admin_institutions.html",
            institutions=page.items,
            total=page.total,
            pager=Pager.of(request, page.total, INSTITUTIONS_PAGE),
            search=search,
            kinds=KINDS,
            form={},
        )

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        create: FromDishka[CreateInstitution],
        list_institutions: FromDishka[ListInstitutions],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)

        async def context(_: DomainError) -> dict[str, Any]:
            page = await list_institutions(
                InstitutionQuery(page=PageRequest(limit=INSTITUTIONS_PAGE))
            )
            return {
                "institutions": page.items,
                "total": page.total,
                "pager": Pager.of(request, page.total, INSTITUTIONS_PAGE),
            }

        institution = await submit_form(
            request,
            viewer,
            "admin_institutions.html",
            lambda: create(
                actor,
                NewInstitution(
                    name=form.get("name", ""),
                    kind=_kind(form),
                    address=_address(form),
                    timezone=form.get("timezone", "").strip(),
                ),
            ),
            more=context,
            form=form,
            kinds=KINDS,
            search="",
        )
        return go(request, f"/admin/institutions/{institution.id}?done=created")

    @get("/{institution_id:uuid}")
    async def institution(
        self,
        request: Request[Any, Any, Any],
        institution_id: FromPath[UUID],
        get_institution: FromDishka[GetInstitution],
        list_doctors: FromDishka[ListDoctors],
    ) -> Template:
        viewer = await viewer_of(request)
        viewer.require(Role.ADMIN)
        institution = await get_institution(institution_id)
        return render(
            request,
            viewer,
            "admin_institution.html",
            **await _details(institution, list_doctors),
            form=institution_form(institution),
            done=request.query_params.get("done"),
        )

    @post("/{institution_id:uuid}")
    async def update(
        self,
        request: Request[Any, Any, Any],
        institution_id: FromPath[UUID],
        update: FromDishka[UpdateInstitution],
        get_institution: FromDishka[GetInstitution],
        list_doctors: FromDishka[ListDoctors],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        form = await _form(request)
        version = form.get("version", "")

        async def context(_: DomainError) -> dict[str, Any]:
            return await _details(await get_institution(institution_id), list_doctors)

        await submit_form(
            request,
            viewer,
            "admin_institution.html",
            # The version the form was drawn from: a change made meanwhile is not
            # overwritten (409, the form again with the detail).
            lambda: update(
                actor,
                institution_id,
                InstitutionChanges(
                    name=form.get("name", ""),
                    kind=_kind(form),
                    address=_address(form),
                    timezone=form.get("timezone", "").strip(),
                ),
                expected_version=int(version) if version.isdigit() else None,
            ),
            more=context,
            form=form,
        )
        return go(request, f"/admin/institutions/{institution_id}?done=saved")

    @post("/{institution_id:uuid}/active")
    async def set_active(
        self,
        request: Request[Any, Any, Any],
        institution_id: FromPath[UUID],
        set_active: FromDishka[SetInstitutionActive],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        active = (await request.form()).get("active") == "true"
        await set_active(actor, institution_id, active=active)
        done = "activated" if active else "deactivated"
        return go(request, f"/admin/institutions/{institution_id}?done={done}")

    @post("/{institution_id:uuid}/doctors")
    async def add_doctor(
        self,
        request: Request[Any, Any, Any],
        institution_id: FromPath[UUID],
        add: FromDishka[AddDoctorToInstitution],
        get_institution: FromDishka[GetInstitution],
        list_doctors: FromDishka[ListDoctors],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)
        raw = str((await request.form()).get("doctor_id", ""))

        async def call() -> bool:
            try:
                doctor_id = UUID(raw)
            except ValueError:
                raise InvalidInput("choose a doctor", field="doctor_id") from None
            return await add(actor, institution_id, doctor_id)

        async def context(_: DomainError) -> dict[str, Any]:
            institution = await get_institution(institution_id)
            return await _details(institution, list_doctors) | {
                "form": institution_form(institution)
            }

        await submit_form(request, viewer, "admin_institution.html", call, more=context)
        return go(request, f"/admin/institutions/{institution_id}?done=doctor_added")

    @post("/{institution_id:uuid}/doctors/{doctor_id:uuid}/remove")
    async def remove_doctor(
        self,
        request: Request[Any, Any, Any],
        institution_id: FromPath[UUID],
        doctor_id: FromPath[UUID],
        remove: FromDishka[RemoveDoctorFromInstitution],
        get_institution: FromDishka[GetInstitution],
        list_doctors: FromDishka[ListDoctors],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.ADMIN)

        async def context(_: DomainError) -> dict[str, Any]:
            institution = await get_institution(institution_id)
            return await _details(institution, list_doctors) | {
                "form": institution_form(institution)
            }

        # Refused (422) while the doctor still has weekly hours there.
        await submit_form(
            request,
            viewer,
            "admin_institution.html",
            lambda: remove(actor, institution_id, doctor_id),
            more=context,
        )
        return go(request, f"/admin/institutions/{institution_id}?done=doctor_removed")


async def _details(institution: Institution, list_doctors: ListDoctors) -> dict[str, Any]:
    members = await list_doctors(
        DoctorQuery(institution_id=institution.id, page=PageRequest(limit=DOCTORS_SHOWN))
    )
    everyone = await list_doctors(DoctorQuery(page=PageRequest(limit=DOCTORS_SHOWN)))
    member_ids = {m.id for m in members.items}
    others: list[DoctorProfile] = [
        d for d in everyone.items if d.id not in member_ids and d.user.is_active
    ]
    return {
        "institution": institution,
        "members": members.items,
        "others": others,
        "kinds": KINDS,
    }


__all__ = ["InstitutionPages", "institution_form"]
