"""Bodies of the session and password routes (``/auth/sessions``, ``/auth/password`` and
the admin's ``/admin/users/{id}/sessions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

import msgspec
from msgspec import Meta

from hduce.application.identity.devices import SessionList
from hduce.domain.sessions import UserSession
from hduce.entrypoints.http.auth.schemas import Password
from hduce.entrypoints.http.examples import ex

SESSION_ID: Final = "01b8e6d8-0f7b-7d21-9c4e-5a8f2b1d3e70"
OTHER_SESSION_ID: Final = "01b8e2c4-3a10-7f55-8e1d-2c9b7a4f6d03"
FIREFOX_UA: Final = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE_UA: Final = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
PASSWORD_CHANGED: Final = (
    "Password changed. Your other sessions were signed out; this one stays signed in."  # noqa: S105
)


class SessionView(msgspec.Struct):
    """One active session: a sign-in and the refreshes that kept it going."""

    id: Annotated[UUID, ex(SESSION_ID)]
    client: Annotated[
        str,
        Meta(
            description="The kind of client, from its user agent",
            examples=["Firefox on Linux", "Mobile Safari on iOS", "curl"],
        ),
    ]
    user_agent: Annotated[str, ex(FIREFOX_UA)] | None
    network: (
        Annotated[
            str,
            Meta(
                description="The network it was last used from, as recorded: the /24 of an "
                "IPv4 address or the /48 of an IPv6 one, never the full address",
                examples=["203.0.113.0/24", "2001:db8:85a3::/48"],
            ),
        ]
        | None
    )
    #: When it was signed in.
    created_at: Annotated[datetime, ex("2030-01-07T08:00:00Z")]
    #: Its last sign-in or refresh (access tokens are not counted: they need no database).
    last_used_at: Annotated[datetime, ex("2030-01-07T09:45:12Z")]
    #: The session of the token this request came with.
    current: Annotated[bool, ex(True)]

    @classmethod
    def of(cls, session: UserSession, current: UUID | None) -> SessionView:
        return cls(
            id=session.id,
            client=session.client,
            user_agent=session.user_agent,
            network=session.network,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            current=session.id == current,
        )


class SessionListView(msgspec.Struct):
    """The account's active sessions, most recently used first."""

    items: Annotated[
        list[SessionView],
        Meta(
            examples=[
                [
                    {
                        "id": SESSION_ID,
                        "client": "Firefox on Linux",
                        "user_agent": FIREFOX_UA,
                        "network": "203.0.113.0/24",
                        "created_at": "2030-01-07T08:00:00Z",
                        "last_used_at": "2030-01-07T09:45:12Z",
                        "current": True,
                    },
                    {
                        "id": OTHER_SESSION_ID,
                        "client": "Mobile Safari on iOS",
                        "user_agent": IPHONE_UA,
                        "network": "2001:db8:85a3::/48",
                        "created_at": "2030-01-02T19:10:40Z",
                        "last_used_at": "2030-01-06T21:03:09Z",
                        "current": False,
                    },
                ]
            ]
        ),
    ]

    @classmethod
    def of(cls, listed: SessionList) -> SessionListView:
        return cls(items=[SessionView.of(s, listed.current) for s in listed.sessions])


class SessionsEndedView(msgspec.Struct):
    #: How many sessions were ended.
    revoked: Annotated[int, ex(2)]


class ChangePasswordRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The password the account signs in with now (re-authentication).
    current_password: Password
    #: The new one: at least 10 characters, not a common password, not the email.
    new_password: Password


class PasswordChangedView(msgspec.Struct):
    detail: Annotated[str, ex(PASSWORD_CHANGED)]
    #: How many other sessions were signed out.
    sessions_ended: Annotated[int, ex(1)]
