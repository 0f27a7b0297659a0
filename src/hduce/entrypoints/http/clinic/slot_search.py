"""``GET /api/v1/slots``: free slots across doctors, by specialty and institution.

Public, like ``GET /doctors/{id}/slots``: the same ``from``/``to`` and the same slots,
for every doctor of a specialty and/or an institution (``SearchFreeSlots``).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, get
from litestar.params import QueryParameter

from hduce.application.availability.slot_search import (
    MAX_DOCTORS_SCANNED,
    MAX_SEARCH_RESULTS,
    MAX_SEARCH_WINDOW,
    SearchFreeSlots,
)
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES
from hduce.entrypoints.http.clinic.responses import problem
from hduce.entrypoints.http.clinic.schemas.schedule import parse_day_or_instant
from hduce.entrypoints.http.clinic.schemas.slot_search import SlotSearchPage
from hduce.entrypoints.http.inputs import DAY_OR_INSTANT_PATTERN
from hduce.entrypoints.http.problems import invalid_input_example

_WINDOW_BOUND = (
    "An instant with a UTC offset (2030-03-30T00:00:00+01:00; Z for UTC; encode '+' as "
    "%2B) or a date (2030-03-30), meaning that day in each doctor's timezone"
)


class SlotSearchController(Controller):
    path = "/slots"
    tags = ("availability",)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="Find free slots across doctors",
        description="Public. The free slots of every doctor of a specialty "
        "(`specialty_id`) and/or working at an institution (`institution_id`: only "
        "their hours there), between `from` and `to`, as `GET /doctors/{id}/slots` "
        "gives them (each naming its institution), plus the doctor. Sorted by start, "
        "then by doctor name; at most `limit` slots (`truncated` says when more were "
        f"free). At most {MAX_SEARCH_WINDOW.days} days (of 24 h) per request, and only "
        f"the first {MAX_DOCTORS_SCANNED} matching doctors by name are searched "
        "(`doctors_scanned` against `doctors_matched`). Slots of one visit type: ask "
        "the doctor's own route with `visit_type_id`.",
        responses={
            400: problem(
                400,
                "Bad `from`/`to`: unparseable, without an offset, `to` not after `from`, "
                f"or more than {MAX_SEARCH_WINDOW.days} days apart; or a bad `limit`",
                invalid_input_example("to", "search at most 14 days of slots at once"),
            ),
        },
    )
    async def search_slots(
        self,
        search_free_slots: FromDishka[SearchFreeSlots],
        window_from: Annotated[
            str,
            QueryParameter(
                name="from",
                max_length=40,
                schema_extra={"pattern": DAY_OR_INSTANT_PATTERN},
                description=f"Start of the window. {_WINDOW_BOUND}.",
            ),
        ],
        window_to: Annotated[
            str,
            QueryParameter(
                name="to",
                max_length=40,
                schema_extra={"pattern": DAY_OR_INSTANT_PATTERN},
                description=f"End of the window (a date: inclusive). {_WINDOW_BOUND}.",
            ),
        ],
        specialty_id: Annotated[
            UUID | None,
            QueryParameter(required=False, description="Only doctors of this specialty."),
        ] = None,
        institution_id: Annotated[
            UUID | None,
            QueryParameter(
                required=False,
                description="Only doctors who work at this institution, and only their "
                "hours there.",
            ),
        ] = None,
        limit: Annotated[
            int,
            QueryParameter(ge=1, le=MAX_SEARCH_RESULTS, description="Most slots to answer."),
        ] = MAX_SEARCH_RESULTS,
    ) -> SlotSearchPage:
        result = await search_free_slots(
            parse_day_or_instant(window_from, "from"),
            parse_day_or_instant(window_to, "to"),
            specialty_id=specialty_id,
            institution_id=institution_id,
            limit=limit,
        )
        return SlotSearchPage.of(result)
