"""``/api/v1/notifications``: the caller's in-app inbox, and its live stream (SSE).

The inbox endpoints are thin over ``NotificationInbox`` (someone else's notification
is reported as missing, 404). ``GET /notifications/stream`` keeps a Server-Sent
Events response open and pushes each new in-app notification of the caller as an
``event: notification`` the moment it is stored (``HandleEventNotifications``
publishes to the realtime fan-out after its commit).

Stream protocol: first ``event: ready`` once the subscription is live (anything
stored from then on is delivered), then ``event: notification`` with ``id:`` = the
notification id and the JSON in ``data:``, and a ``: keep-alive`` comment every
15 s of silence so proxies keep the connection. The stream ends with ``event:
session-expired`` when the access token it was opened with expires: a revoked
session cannot keep listening; the client reconnects with a fresh token and reads
``GET /notifications?unread=true`` to catch up on anything it missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hduce.application.identity.sessions import Principal
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.ports import Clock, PageRequest, RealtimeSubscriber
from hduce.domain.identity import Actor
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import AUTH_DEPENDENCIES, requires_auth
from hduce.entrypoints.http.notifications.schemas import (
    MarkedRead,
    NotificationPage,
    NotificationView,
    StreamEvent,
    UnreadCount,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_request_example,
    not_found_example,
    problem_spec,
)

KEEP_ALIVE_SECONDS: Final = 15.0
#: How long an EventSource waits before reconnecting after the stream ends.
RECONNECT_MILLISECONDS: Final = 3000
MAX_PAGE: Final = 100

_400 = {
    400: problem_spec(
        400,
        "Malformed parameter (`errors` names it)",
        invalid_request_example(
            "limit",
            "Expected `int` <= 100",
            source="query",
            detail="Validation failed for GET /api/v1/notifications?limit=500",
        ),
    )
}
_401 = {401: problem_spec(401, "Not authenticated")}
_404 = {
    404: problem_spec(
        404,
        "No such notification of yours",
        not_found_example("notification", demo.NOTIFICATION_ID),
    )
}
_encoder = msgspec.json.Encoder()

_STREAM_EXAMPLES = [
    Example(
        summary="First: the subscription is live",
        value={"event": "ready", "data": "{}", "retry": 3000},
    ),
    Example(
        summary="A new notification",
        value={
            "event": "notification",
            "data": demo.STREAM_NOTIFICATION_DATA,
            "id": demo.NOTIFICATION_ID,
        },
    ),
    Example(
        summary="Last: the access token expired",
        value={"event": "session-expired", "data": "{}"},
    ),
]
_STREAM_DESCRIPTION = (
    "The event stream, open until the access token expires. Each event, as an "
    "EventSource reads it, is described below; on the wire:\n\n"
    "```\nevent: ready\ndata: {}\nretry: 3000\n\n"
    f"id: {demo.NOTIFICATION_ID}\nevent: notification\ndata: {{...}}\n\n"
    ": keep-alive\n\nevent: session-expired\ndata: {}\n```"
)


class NotificationsController(Controller):
    path = "/notifications"
    tags = ("notifications",)
    guards = (requires_auth,)
    dependencies = AUTH_DEPENDENCIES

    @get(
        "/",
        summary="My in-app notifications, newest first",
        description="`unread=true` lists only the unread ones.",
        responses={**_400, **_401},
    )
    async def list_notifications(
        self,
        actor: NamedDependency[Actor],
        inbox: FromDishka[NotificationInbox],
        unread: Annotated[bool, QueryParameter(description="Only unread ones")] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 20,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> NotificationPage:
        page = await inbox.list(
            actor, unread_only=unread, page=PageRequest(limit=limit, offset=offset)
        )
        return NotificationPage.of(page)

    @get("/unread-count", summary="How many of my notifications are unread", responses=_401)
    async def unread_count(
        self, actor: NamedDependency[Actor], inbox: FromDishka[NotificationInbox]
    ) -> UnreadCount:
        return UnreadCount(unread=await inbox.unread_count(actor))

    @post(
        "/{notification_id:uuid}/read",
        status_code=200,
        summary="Mark one notification read",
        description="Idempotent: marking a read notification again keeps its first read time.",
        responses={**MALFORMED_REQUEST, **_401, **_404},
    )
    async def mark_read(
        self,
        notification_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        inbox: FromDishka[NotificationInbox],
    ) -> NotificationView:
        return NotificationView.of(await inbox.mark_read(actor, notification_id))

    @post(
        "/read-all",
        status_code=200,
        summary="Mark all my notifications read",
        responses=_401,
    )
    async def mark_all_read(
        self, actor: NamedDependency[Actor], inbox: FromDishka[NotificationInbox]
    ) -> MarkedRead:
        return MarkedRead(marked=await inbox.mark_all_read(actor))

    @delete(
        "/{notification_id:uuid}",
        status_code=204,
        summary="Delete one of my notifications",
        responses={**MALFORMED_REQUEST, **_401, **_404},
    )
    async def delete_notification(
        self,
        notification_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        inbox: FromDishka[NotificationInbox],
    ) -> None:
        await inbox.delete(actor, notification_id)

    @get(
        "/stream",
        summary="Live stream of my new notifications (Server-Sent Events)",
        description=(
            "`text/event-stream`. First `event: ready` (subscribed), then one `event: "
            "notification` per new in-app notification (`id:` its id, `data:` the JSON of "
            "the notification list), and a `: keep-alive` comment every 15 s. Ends with "
            "`event: session-expired` when the access token expires; reconnect with a "
            "fresh one and read `GET /notifications?unread=true` to catch up. Browsers' "
            "EventSource authenticates with the session cookie."
        ),
        responses={
            200: ResponseSpec(
                data_container=StreamEvent,
                media_type="text/event-stream",
                description=_STREAM_DESCRIPTION,
                generate_examples=False,
                examples=_STREAM_EXAMPLES,
            ),
            **_401,
        },
    )
    async def stream(
        self,
        principal: NamedDependency[Principal],
        subscriber: FromDishka[RealtimeSubscriber],
        clock: FromDishka[Clock],
    ) -> ServerSentEvent:
        lifetime = (principal.claims.expires_at - clock.now()).total_seconds()
        return ServerSentEvent(
            notification_events(
                subscriber,
                principal.user.id,
                keep_alive=KEEP_ALIVE_SECONDS,
                lifetime=max(lifetime, 0.0),
            )
        )


async def notification_events(
    subscriber: RealtimeSubscriber,
    user_id: UUID,
    *,
    keep_alive: float = KEEP_ALIVE_SECONDS,
    lifetime: float,
) -> AsyncIterator[ServerSentEventMessage]:
    """The SSE messages of one stream (see the module docstring)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    async with subscriber.subscribe(user_id) as messages:
        yield ServerSentEventMessage(event="ready", data="{}", retry=RECONNECT_MILLISECONDS)
        iterator = aiter(messages)
        # One pending read survives the keep-alive timeouts: cancelling a read of an
        # arbitrary async iterator midway could lose a message or end the iterator.
        pending = asyncio.ensure_future(_next_message(iterator))
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    yield ServerSentEventMessage(event="session-expired", data="{}")
                    return
                done, _ = await asyncio.wait({pending}, timeout=min(keep_alive, remaining))
                if not done:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                    continue
                message = pending.result()
                if message is None:  # the fan-out shut down
                    return
                yield ServerSentEventMessage(
                    event="notification",
                    id=str(message.get("id", "")) or None,
                    data=_encoder.encode(message).decode(),
                )
                pending = asyncio.ensure_future(_next_message(iterator))
        finally:
            pending.cancel()


async def _next_message(iterator: AsyncIterator[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None
