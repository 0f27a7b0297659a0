"""The visit-type editor of a doctor (the doctor themself, or an admin): name, length,
buffers before and after, booking horizon and minimum notice (ADR 0020). The same use
cases as ``/api/v1/doctors/{id}/visit-types`` decide who may change whose types and
what values are allowed; patients choose a type on the doctor's week page (``clinic``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.availability.visit_types import (
    CreateVisitType,
    DeleteVisitType,
    ListVisitTypes,
    UpdateVisitType,
    VisitTypeFields,
)
from hduce.application.clinic.doctors import GetDoctor
from hduce.domain.errors import DomainError, InvalidInput
from hduce.domain.identity import Role
from hduce.domain.visit_types import VisitType
from hduce.entrypoints.http.problems import domain_status
from hduce.entrypoints.web.views import Viewer, go, render, viewer_of


def minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def type_values(visit_type: VisitType) -> dict[str, str]:
    """A type as its form shows it."""
    return {
        "name": visit_type.name,
        "duration_minutes": str(minutes(visit_type.duration)),
        "buffer_before_minutes": str(minutes(visit_type.buffer_before)),
        "buffer_after_minutes": str(minutes(visit_type.buffer_after)),
        "booking_horizon_days": str(visit_type.booking_horizon.days),
        "minimum_notice_minutes": str(minutes(visit_type.minimum_notice)),
    }


NEW_TYPE: Final = {
    "name": "",
    "duration_minutes": "30",
    "buffer_before_minutes": "0",
    "buffer_after_minutes": "0",
    "booking_horizon_days": "90",
    "minimum_notice_minutes": "60",
}


def _number(form: dict[str, str], field: str) -> int:
    raw = form.get(field, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{field} must be a whole number", field=field) from None


def parse_fields(form: dict[str, str]) -> VisitTypeFields:
    """The form in domain units; the domain checks the ranges (``VisitType``)."""
    return VisitTypeFields(
        name=form.get("name", ""),
        duration=timedelta(minutes=_number(form, "duration_minutes")),
        buffer_before=timedelta(minutes=_number(form, "buffer_before_minutes")),
        buffer_after=timedelta(minutes=_number(form, "buffer_after_minutes")),
        booking_horizon=timedelta(days=_number(form, "booking_horizon_days")),
        minimum_notice=timedelta(minutes=_number(form, "minimum_notice_minutes")),
    )


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items() if isinstance(value, str)}


def _doctor_of(viewer: Viewer, doctor_id: UUID | None) -> UUID:
    actor = viewer.require(Role.DOCTOR, Role.ADMIN)
    if doctor_id is not None:
        return doctor_id
    if actor.user_id is None or actor.role is not Role.DOCTOR:
        raise InvalidInput("choose a doctor", field="doctor_id")
    return actor.user_id


class VisitTypePages(Controller):
    path = "/doctor"
    include_in_schema = False

    @get(["/visit-types", "/{doctor_id:uuid}/visit-types"])
    async def visit_types(
        self,
        request: Request[Any, Any, Any],
        list_types: FromDishka[ListVisitTypes],
        get_doctor: FromDishka[GetDoctor],
        doctor_id: FromPath[UUID | None] = None,
    ) -> Template:
        viewer = await viewer_of(request)
        target = _doctor_of(viewer, doctor_id)
        return await _page(request, viewer, target, list_types, get_doctor)

    @post(
        [
            "/visit-types/{action:str}",
            "/visit-types/{visit_type_id:uuid}/{action:str}",
            "/{doctor_id:uuid}/visit-types/{action:str}",
            "/{doctor_id:uuid}/visit-types/{visit_type_id:uuid}/{action:str}",
        ]
    )
    async def change(
        self,
        request: Request[Any, Any, Any],
        action: FromPath[str],
        create: FromDishka[CreateVisitType],
        update: FromDishka[UpdateVisitType],
        delete: FromDishka[DeleteVisitType],
        list_types: FromDishka[ListVisitTypes],
        get_doctor: FromDishka[GetDoctor],
        doctor_id: FromPath[UUID | None] = None,
        visit_type_id: FromPath[UUID | None] = None,
    ) -> Any:
        """``new`` (no type id), ``save`` and ``delete`` (a type's id)."""
        viewer = await viewer_of(request)
        target = _doctor_of(viewer, doctor_id)
        actor = viewer.require(Role.DOCTOR, Role.ADMIN)
        form = await _form(request)
        try:
            if action == "new" and visit_type_id is None:
                await create(actor, target, parse_fields(form))
            elif action == "save" and visit_type_id is not None:
                version = form.get("version", "")
                await update(
                    actor,
                    target,
                    visit_type_id,
                    parse_fields(form),
                    expected_version=int(version) if version.isdigit() else None,
                )
            elif action == "delete" and visit_type_id is not None:
                await delete(actor, target, visit_type_id)
            else:
                raise InvalidInput(f"nothing to do called {action}", field="action")
        except DomainError as exc:
            return await _page(
                request,
                viewer,
                target,
                list_types,
                get_doctor,
                status_code=domain_status(exc),
                detail=exc.message,
                field=getattr(exc, "field", None),
                failed=str(visit_type_id) if visit_type_id else "new",
                form=form,
            )
        here = "/doctor/visit-types" if doctor_id is None else f"/doctor/{target}/visit-types"
        return go(request, f"{here}?done={action}")


async def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    doctor_id: UUID,
    list_types: ListVisitTypes,
    get_doctor: GetDoctor,
    *,
    status_code: int = 200,
    failed: str | None = None,
    form: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    doctor = await get_doctor(doctor_id)
    kinds = await list_types(doctor_id)
    # The form that was refused shows what was typed; the others what is stored.
    values = {str(k.id): type_values(k) for k in kinds}
    new_values = dict(NEW_TYPE)
    if failed is not None and form is not None:
        typed = {key: form.get(key, "") for key in NEW_TYPE}
        if failed == "new":
            new_values = typed
        elif failed in values:
            values[failed] = typed
    own = viewer.user is not None and viewer.user.id == doctor_id
    return render(
        request,
        viewer,
        "visit_types.html",
        status_code=status_code,
        doctor=doctor,
        kinds=kinds,
        values=values,
        new_values=new_values,
        failed=failed,
        action_base="/doctor/visit-types" if own else f"/doctor/{doctor_id}/visit-types",
        done=request.query_params.get("done"),
        **context,
    )
