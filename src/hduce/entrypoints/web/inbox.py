"""Console actions on the notification list beyond ``account.py``'s: mark one unread
again (the inbox use case of ``POST /api/v1/notifications/{id}/unread``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from hduce.application.notifications.inbox import NotificationInbox
from hduce.entrypoints.web.views import go, viewer_of


class InboxPages(Controller):
    include_in_schema = False

    @post("/notifications/{notification_id:uuid}/unread")
    async def mark_unread(
        self,
        request: Request[Any, Any, Any],
        notification_id: FromPath[UUID],
        inbox: FromDishka[NotificationInbox],
    ) -> Response[Any]:
        viewer = await viewer_of(request)
        await inbox.mark_unread(viewer.require(), notification_id)
        return go(request, "/notifications")


__all__ = ["InboxPages"]
