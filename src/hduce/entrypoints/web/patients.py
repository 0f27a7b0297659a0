"""Staff finding patients (ADR 0024): admins among every patient account, doctors among
the patients in their care only. The page calls ``SearchPatients``, which applies that
rule, as ``GET /api/v1/patients`` does; patients are refused."""

from __future__ import annotations

from typing import Any, Final

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, get
from litestar.response import Template

from hduce.application.clinic.patient_search import PatientSearch, SearchPatients
from hduce.application.ports import PageRequest
from hduce.domain.identity import Role
from hduce.entrypoints.web.views import render, viewer_of

PAGE_SIZE: Final = 50


def _offset(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() else 0


class PatientSearchPages(Controller):
    path = "/patients"
    include_in_schema = False

    @get("/")
    async def patients(
        self, request: Request[Any, Any, Any], search_patients: FromDishka[SearchPatients]
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.DOCTOR, Role.ADMIN)
        text = (request.query_params.get("search") or "").strip()[:200]
        offset = _offset(request.query_params.get("offset"))
        found = await search_patients(
            actor,
            PatientSearch(text=text or None, page=PageRequest(limit=PAGE_SIZE, offset=offset)),
        )
        return render(
            request,
            viewer,
            "patients.html",
            patients=found.items,
            total=found.total,
            search=text,
            offset=offset,
            previous=max(offset - PAGE_SIZE, 0) if offset > 0 else None,
            next=offset + PAGE_SIZE if offset + PAGE_SIZE < found.total else None,
        )
