"""Calendar feeds over HTTP (ADR 0023).

* ``/api/v1/calendar-feeds``: a patient or a doctor creates a feed (the answer holds
  its URLs, ``https://`` and ``webcal://``, this once), lists and revokes theirs.
* ``GET /calendar/{token}.ics``: the feed itself, for calendar apps, which cannot sign
  in: the token in the path is the credential. Mounted at the root, not under
  ``/api/v1``: responses there are ``no-store`` whatever the handler says, and a feed
  is worth revalidating (``ETag`` / ``If-None-Match`` -> 304, ``Cache-Control: private,
  no-cache``). An unknown or revoked token is 404; too many reads of one feed, 429
  with ``Retry-After``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, HeaderParameter, JSONBody
from msgspec import UNSET, Meta, UnsetType

from hduce.application.appointments.feeds import (
    MAX_LABEL_LENGTH,
    CreateCalendarFeed,
    CreatedFeed,
    ListCalendarFeeds,
    ReadCalendarFeed,
    RevokeCalendarFeed,
)
from hduce.application.ports import CalendarFeed
from hduce.domain.errors import NotFound
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.appointments.feed_ics import etag_matches, feed_etag, feed_ics
from hduce.entrypoints.http.appointments.ics import ICS_MEDIA_TYPE
from hduce.entrypoints.http.auth.security import (
    AUTH_DEPENDENCIES,
    json_bodies_only,
    request_container,
    requires_role,
)
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.inputs import PlainText
from hduce.entrypoints.http.problems import (
    MALFORMED_REQUEST,
    invalid_request_example,
    not_found_example,
    problem_example,
    problem_spec,
)

FEED_PATH: Final = "/calendar"
ICS_SUFFIX: Final = ".ics"
FEED_ID: Final = "01b8f0a2-6c1d-7e44-9a3b-5c6d7e8f9a0b"
TOKEN: Final = "q7Xr2mKc9LpT4vW8yZ1bN3dF6hJ0sA5eG-uI_oP2rE4"  # noqa: S105 - an example
FEED_URL: Final = f"https://hduce.example.org{FEED_PATH}/{TOKEN}.ics"
CREATED_AT: Final = "2030-01-02T09:30:00Z"
CACHE_CONTROL: Final = "private, no-cache"

_ERRORS = {
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Not a patient or a doctor (feeds are of one's own calendar)"),
}
_NOT_FOUND = {
    404: problem_spec(404, "No such feed of yours", not_found_example("calendar feed", FEED_ID))
}

FeedLabel = Annotated[
    PlainText, Meta(max_length=MAX_LABEL_LENGTH, examples=["My phone's calendar"])
]


class NewCalendarFeed(msgspec.Struct, forbid_unknown_fields=True):
    #: A name to tell your feeds apart; "My appointments" when left out.
    label: FeedLabel | UnsetType = UNSET


class CalendarFeedView(msgspec.Struct):
    id: Annotated[UUID, ex(FEED_ID)]
    label: Annotated[str, ex("My phone's calendar")]
    created_at: Annotated[datetime, ex(CREATED_AT)]
    #: Set once the feed is revoked: its URL answers 404.
    revoked_at: Annotated[datetime | None, ex(None)]
    is_active: Annotated[bool, ex(True)]

    @classmethod
    def of(cls, feed: CalendarFeed) -> CalendarFeedView:
        return cls(
            id=feed.id,
            label=feed.label,
            created_at=feed.created_at,
            revoked_at=feed.revoked_at,
            is_active=feed.is_active,
        )


class CreatedCalendarFeedView(CalendarFeedView):
    """The new feed and its URLs: shown this once (only the token's hash is kept)."""

    url: Annotated[str, ex(FEED_URL)] = ""
    webcal_url: Annotated[str, ex(FEED_URL.replace("https://", "webcal://"))] = ""

    @classmethod
    def created(cls, created: CreatedFeed, base_url: str) -> CreatedCalendarFeedView:
        feed = created.feed
        url = f"{base_url.rstrip('/')}{FEED_PATH}/{created.token}{ICS_SUFFIX}"
        scheme, _, rest = url.partition("://")
        return cls(
            id=feed.id,
            label=feed.label,
            created_at=feed.created_at,
            revoked_at=feed.revoked_at,
            is_active=feed.is_active,
            url=url,
            webcal_url=f"webcal://{rest}" if scheme else url,
        )


class CalendarFeedList(msgspec.Struct):
    items: list[CalendarFeedView]


class CalendarFeedsController(Controller):
    path = "/calendar-feeds"
    tags = ("appointments",)
    guards = (json_bodies_only, requires_role(Role.PATIENT, Role.DOCTOR))
    dependencies = AUTH_DEPENDENCIES

    @post(
        "/",
        status_code=201,
        summary="Create a calendar feed of your appointments",
        description="A secret subscription URL (`url`, and `webcal_url` for calendar apps) "
        "of your appointments (a patient's own; a doctor's agenda), from 30 days ago to a "
        "year ahead. Anyone with the URL can read the feed: it is shown this once (only "
        "a hash of its token is kept); revoke it if it leaks. At most 10 active feeds.",
        responses={
            **_ERRORS,
            400: problem_spec(
                400,
                "Malformed body; `errors` names the field",
                invalid_request_example(
                    "label",
                    "Expected `str` of length <= 100",
                    source="body",
                    detail="Validation failed for POST /api/v1/calendar-feeds",
                ),
            ),
            422: problem_spec(
                422,
                "Too many active feeds",
                problem_example(
                    422,
                    "too-many-feeds",
                    "at most 10 active calendar feeds: revoke one first",
                ),
            ),
        },
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        data: JSONBody[NewCalendarFeed],
        create: FromDishka[CreateCalendarFeed],
    ) -> CreatedCalendarFeedView:
        label = "" if isinstance(data.label, UnsetType) else data.label
        created = await create(actor, label)
        return CreatedCalendarFeedView.created(created, str(request.base_url))

    @get("/", summary="Your calendar feeds (revoked ones included)", responses=_ERRORS)
    async def list_feeds(
        self, actor: NamedDependency[Actor], list_feeds: FromDishka[ListCalendarFeeds]
    ) -> CalendarFeedList:
        return CalendarFeedList(
            items=[CalendarFeedView.of(feed) for feed in await list_feeds(actor)]
        )

    @post(
        "/{feed_id:uuid}/revoke",
        status_code=200,
        summary="Revoke a calendar feed",
        description="Its URL answers 404 from now on. Revoking it again changes nothing.",
        responses={**MALFORMED_REQUEST, **_ERRORS, **_NOT_FOUND},
    )
    async def revoke(
        self,
        feed_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        revoke: FromDishka[RevokeCalendarFeed],
    ) -> CalendarFeedView:
        return CalendarFeedView.of(await revoke(actor, feed_id))


_ICS_EXAMPLE: Final = (
    "BEGIN:VCALENDAR\r\nPRODID:-//HDUCE//Appointments 1.0//EN\r\nVERSION:2.0\r\n"
    "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:HDUCE Appointments: Ada Lovelace\r\n"
    "BEGIN:VEVENT\r\nUID:01b8e3b1-f2bf-7c3a-8d52-1e9f6b0a4c83@hduce\r\nSEQUENCE:2\r\n"
    "DTSTAMP:20300102T093000Z\r\nDTSTART:20300109T100000Z\r\nDTEND:20300109T103000Z\r\n"
    "STATUS:CONFIRMED\r\nSUMMARY:Medical appointment with Grace Hopper\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@get(
    f"{FEED_PATH}/{{feed_file:str}}",
    summary="A calendar feed (`/calendar/{token}.ics`)",
    description="Public: the token is the credential (calendar apps cannot sign in). "
    "An RFC 5545 calendar of the feed owner's appointments from 30 days ago to a year "
    "ahead: one VEVENT each, with a stable UID (`<appointment id>@hduce`), SEQUENCE "
    "growing with every change, STATUS CANCELLED for cancelled, rejected and voided "
    "visits (kept 30 days after the change). `ETag` / `If-None-Match` -> 304. A revoked "
    "or unknown token is 404; past HDUCE_CALENDAR_FEED_RATE_LIMIT reads an hour, 429.",
    tags=["appointments"],
    media_type=ICS_MEDIA_TYPE,
    responses={
        200: ResponseSpec(
            data_container=str,
            media_type=ICS_MEDIA_TYPE,
            description="The feed (text/calendar)",
            generate_examples=False,
            examples=[Example(summary="One approved visit", value=_ICS_EXAMPLE)],
        ),
        304: ResponseSpec(
            data_container=None,
            description="Not modified: `If-None-Match` names the current ETag",
            generate_examples=False,
        ),
        **MALFORMED_REQUEST,
        404: problem_spec(
            404, "Unknown or revoked feed", not_found_example("calendar feed", "token")
        ),
        429: problem_spec(
            429,
            "Too many reads of this feed; `Retry-After` says when to come back",
            problem_example(
                429,
                "rate-limited",
                "too many requests; retry after 1200 s",
                retry_after_seconds=1200,
            ),
        ),
    },
)
async def calendar_feed(
    request: Request[Any, Any, Any],
    feed_file: FromPath[str],
    if_none_match: Annotated[
        str | None, HeaderParameter(name="If-None-Match", required=False)
    ] = None,
) -> Response[bytes]:
    if not feed_file.endswith(ICS_SUFFIX):
        raise NotFound("calendar feed", "token")
    read = await request_container(request).get(ReadCalendarFeed)
    document = await read(feed_file.removesuffix(ICS_SUFFIX))
    body = feed_ics(document)
    tag = feed_etag(body)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if etag_matches(if_none_match, tag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=ICS_MEDIA_TYPE, headers=headers)
