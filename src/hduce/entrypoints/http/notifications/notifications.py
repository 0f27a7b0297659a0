"""``/api/v1/notifications``: the caller's in-app inbox, and its live stream (SSE).

The inbox endpoints are thin over ``NotificationInbox`` (someone else's notification
is reported as missing, 404). ``GET /notifications/stream`` keeps a Server-Sent
Events response open over ``OpenNotificationStream`` and pushes each new in-app
notification of the caller as an ``event: notification`` the moment it is stored,
whichever process stored it (``HandleEventNotifications`` publishes to the realtime
fan-out after its commit; on Redis when ``HDUCE_REDIS_URL`` is set).

Stream protocol: first ``event: ready`` once the subscription is live (anything
stored from then on is delivered). A reconnecting EventSource sends
``Last-Event-ID``: the stored notifications after that one come next, oldest first,
so a reconnection loses nothing. Then ``event: notification`` with ``id:`` = the
notification id and the JSON in ``data:``, and a ``: keep-alive`` comment every 15 s
of silence so proxies keep the connection. The stream ends with ``event:
session-expired`` when the access token it was opened with expires, with ``event:
session-revoked`` within ``HDUCE_STREAM_SESSION_CHECK_INTERVAL`` of a logout or a
deactivation, and without a last event when the server ends it (shutdown, a lost
Redis connection, a client too slow to keep up): the EventSource then reconnects and
resumes. At most ``HDUCE_STREAM_MAX_PER_USER`` streams per person: one more is 429.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hduce.application.identity.sessions import Authenticate, Principal
from hduce.application.notifications.inbox import NotificationInbox
from hduce.application.notifications.preferences import (
    GetNotificationPreferences,
    UpdateNotificationPreferences,
)
from hduce.application.notifications.stream import (
    Delivered,
    Ended,
    KeepAlive,
    OpenNotificationStream,
    Ready,
    SessionCheck,
    StreamItem,
)
from hduce.application.ports import PageRequest
from hduce.application.tracing import tracing
from hduce.bootstrap.metrics import counted_stream
from hduce.domain.errors import AuthenticationFailed
from hduce.domain.identity import Actor
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    presented_token,
    requires_auth,
)
from hduce.entrypoints.http.notifications.schemas import (
    MarkedRead,
    NotificationPage,
    NotificationView,
    PreferencesPatch,
    PreferencesView,
    StreamEvent,
    UnreadCount,
)
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_input_example,
    invalid_request_example,
    not_found_example,
    problem_example,
    problem_spec,
)

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
_PREFERENCES_400 = {
    400: problem_spec(
        400,
        "A kind that cannot be turned off, or a malformed body",
        invalid_input_example(
            "kinds",
            "'user.password_changed' is not a kind of notification that can be turned off",
        ),
    )
}
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
    Example(
        summary="Last: the session was closed (logout, deactivated account)",
        value={"event": "session-revoked", "data": "{}"},
    ),
]
_STREAM_DESCRIPTION = (
    "The event stream, open until the session ends. Each event, as an "
    "EventSource reads it, is described below; on the wire:\n\n"
    "```\nevent: ready\ndata: {}\nretry: 3000\n\n"
    f"id: {demo.NOTIFICATION_ID}\nevent: notification\ndata: {{...}}\n\n"
    ": keep-alive\n\nevent: session-expired\ndata: {}\n```"
)
_429 = {
    429: problem_spec(
        429,
        "Too many streams open for this person (`HDUCE_STREAM_MAX_PER_USER`)",
        problem_example(
            429,
            "too-many-streams",
            "at most 5 notification streams may be open at once; close one first",
            retry_after_seconds=5,
        ),
    )
}


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
        "/{notification_id:uuid}/unread",
        status_code=200,
        summary="Mark one notification unread",
        description=(
            "Back to unread, to deal with later: it counts in `unread-count` and is listed "
            "by `unread=true` again. Idempotent. Marking it read afterwards records the new "
            "read time."
        ),
        responses={**MALFORMED_REQUEST, **_401, **_404},
    )
    async def mark_unread(
        self,
        notification_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        inbox: FromDishka[NotificationInbox],
    ) -> NotificationView:
        return NotificationView.of(await inbox.mark_unread(actor, notification_id))

    @get(
        "/preferences",
        summary="My notification preferences",
        description=(
            "For every kind of appointment news (the event type, e.g. "
            "`appointment.approved`), whether it reaches me in-app, by email and by SMS. "
            "Security notices (`always_sent`) go out whatever these say."
        ),
        responses=_401,
    )
    async def get_preferences(
        self,
        actor: NamedDependency[Actor],
        get_preferences: FromDishka[GetNotificationPreferences],
    ) -> PreferencesView:
        return PreferencesView.of(await get_preferences(actor))

    @patch(
        "/preferences",
        summary="Turn kinds of notification on or off, channel by channel",
        description=(
            "Only the switches sent change. A kind that cannot be turned off (a security "
            "notice) or does not exist is refused (400). Notifications already stored "
            "are not affected; the next events follow the new choice."
        ),
        responses={**_PREFERENCES_400, **_401},
    )
    async def update_preferences(
        self,
        data: JSONBody[PreferencesPatch],
        actor: NamedDependency[Actor],
        update_preferences: FromDishka[UpdateNotificationPreferences],
    ) -> PreferencesView:
        switches = {kind: channels.given() for kind, channels in data.kinds.items()}
        return PreferencesView.of(await update_preferences(actor, switches))

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
            "`text/event-stream`. First `event: ready` (subscribed); after a reconnection "
            "with `Last-Event-ID`, the stored notifications after that one, oldest first; "
            "then one `event: notification` per new in-app notification (`id:` its id, "
            "`data:` the JSON of the notification list), and a `: keep-alive` comment "
            "every 15 s. Ends with `event: session-expired` when the access token expires, "
            "`event: session-revoked` within seconds of a logout or a deactivation; a "
            "stream the server ends without such an event is to be resumed (an "
            "EventSource reconnects with `Last-Event-ID` by itself). At most "
            "`HDUCE_STREAM_MAX_PER_USER` open streams per person. Browsers' EventSource "
            "authenticates with the session cookie."
        ),
        responses={
            200: ResponseSpec(
                data_container=StreamEvent,
                media_type="text/event-stream",
                description=_STREAM_DESCRIPTION,
                generate_examples=False,
                examples=_STREAM_EXAMPLES,
            ),
            400: problem_spec(
                400,
                "`Last-Event-ID` is not a notification id",
                invalid_request_example(
                    "Last-Event-ID",
                    "Invalid UUID",
                    source="header",
                    detail="Validation failed for GET /api/v1/notifications/stream",
                ),
            ),
            **_401,
            **_429,
        },
    )
    async def stream(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        open_stream: FromDishka[OpenNotificationStream],
        authenticate: FromDishka[Authenticate],
        last_event_id: Annotated[
            UUID | None,
            HeaderParameter(
                name="Last-Event-ID",
                required=False,
                description="Resume after this notification (an EventSource sends it "
                "when it reconnects)",
            ),
        ] = None,
    ) -> ServerSentEvent:
        items = await open_stream(
            principal.actor,
            expires_at=principal.claims.expires_at,
            still_valid=_session_check(authenticate, presented_token(request)),
            resume_after=last_event_id,
        )
        return ServerSentEvent(notification_events(items))


def _session_check(authenticate: Authenticate, token: str | None) -> SessionCheck:
    """The stream's session, checked again by the very rule that admitted the request
    (denylist, account active, token valid), so any way of revoking it counts."""

    async def still_valid() -> bool:
        if token is None:
            return False
        # Every few seconds for as long as the stream is open: its Redis and SQL spans
        # would pile up in the stream's trace (ADR 0012).
        with tracing().untraced():
            try:
                await authenticate(token)
            except AuthenticationFailed:
                return False
        return True

    return still_valid


async def notification_events(
    items: AsyncGenerator[StreamItem, None],
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The SSE messages of one stream (see the module docstring), counted in
    ``hduce_sse_streams_open`` while they flow."""
    with counted_stream():
        async with contextlib.aclosing(items):
            async for item in items:
                match item:
                    case Ready():
                        yield ServerSentEventMessage(
                            event="ready", data="{}", retry=RECONNECT_MILLISECONDS
                        )
                    case Delivered(message=message):
                        yield ServerSentEventMessage(
                            event="notification",
                            id=str(message.get("id", "")) or None,
                            data=_encoder.encode(message).decode(),
                        )
                    case KeepAlive():
                        yield ServerSentEventMessage(comment="keep-alive", data=None)
                    case Ended(reason=reason) if reason is not None:
                        yield ServerSentEventMessage(event=reason, data="{}")
