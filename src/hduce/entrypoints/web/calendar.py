"""Console page of calendar feeds (ADR 0023): a patient's or doctor's secret
subscription URL for calendar apps, created (its URLs shown this once, ``webcal://`` and
``https://``, with copy buttons), listed and revoked, through the use cases of
``/api/v1/calendar-feeds``. Each appointment's own ``.ics`` file is linked from the
appointment lists."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from hduce.application.appointments.feeds import (
    CreateCalendarFeed,
    ListCalendarFeeds,
    RevokeCalendarFeed,
)
from hduce.domain.identity import Role
from hduce.entrypoints.http.appointments.feeds import CreatedCalendarFeedView
from hduce.entrypoints.web.forms import submit_form
from hduce.entrypoints.web.views import Viewer, go, render, viewer_of

PAGE: Final = "/appointments/calendar"
_MAX_LABEL: Final = 200


async def _page(
    request: Request[Any, Any, Any], viewer: Viewer, list_feeds: ListCalendarFeeds, **context: Any
) -> Template:
    feeds = await list_feeds(viewer.require(Role.PATIENT, Role.DOCTOR))
    return render(
        request,
        viewer,
        "calendar_feeds.html",
        active=[f for f in feeds if f.is_active],
        revoked=[f for f in feeds if not f.is_active],
        **context,
    )


class CalendarPages(Controller):
    path = PAGE
    include_in_schema = False

    @get("/")
    async def feeds(
        self, request: Request[Any, Any, Any], list_feeds: FromDishka[ListCalendarFeeds]
    ) -> Template:
        viewer = await viewer_of(request)
        return await _page(
            request, viewer, list_feeds, created=None, done=request.query_params.get("done")
        )

    @post("/")
    async def create(
        self,
        request: Request[Any, Any, Any],
        create: FromDishka[CreateCalendarFeed],
        list_feeds: FromDishka[ListCalendarFeeds],
    ) -> Template:
        viewer = await viewer_of(request)
        actor = viewer.require(Role.PATIENT, Role.DOCTOR)
        form = await request.form()
        label = str(form.get("label") or "")[:_MAX_LABEL]

        async def listed(_: Any) -> dict[str, Any]:
            feeds = await list_feeds(actor)
            return {
                "active": [f for f in feeds if f.is_active],
                "revoked": [f for f in feeds if not f.is_active],
            }

        created = await submit_form(
            request,
            viewer,
            "calendar_feeds.html",
            lambda: create(actor, label),
            more=listed,
            created=None,
            label=label,
        )
        # The token is shown this once: the page is drawn here, not after a redirect.
        urls = CreatedCalendarFeedView.created(created, str(request.base_url))
        return await _page(request, viewer, list_feeds, created=urls, status_code=201)

    @post("/{feed_id:uuid}/revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        feed_id: FromPath[UUID],
        revoke: FromDishka[RevokeCalendarFeed],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        await revoke(viewer.require(Role.PATIENT, Role.DOCTOR), feed_id)
        return go(request, f"{PAGE}?done=revoked")


__all__ = ["CalendarPages"]
