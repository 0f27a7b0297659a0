"""Plain-HTTP helpers of the account pages' tests: a signed-in ``httpx`` client of the
console (cookies sent by hand: httpx keeps ``Secure`` cookies off plain http)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.browser.conftest import MAIL_PUBLIC_URL
from tests.browser.console import ADMIN, DEMO_PASSWORD, OTHER_PATIENT
from tests.services import ReceivedMail, SmtpServer

CSRF = "__Host-hduce_csrf"
NEW_PASSWORD = "a brand new passphrase 7"
RESET_SUBJECT = "Reset your password"
VERIFY_SUBJECT = "Confirm your email address"
_LINK = re.compile(r"(https?://\S+?)\?token=([A-Za-z0-9_-]+)")
ACCESS = "__Host-hduce_access"


def _cookie(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split("=", 1)[1].split(";", 1)[0]
    return None


@dataclass
class Browserless:
    """A console visitor over HTTP: keeps the CSRF and session cookies itself."""

    client: httpx.Client
    cookies: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Cookie": cookie, "X-CSRF-Token": self.cookies.get(CSRF, "")}
        return headers | (extra or {})

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._keep(
            self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)
        )

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self._keep(
            self.client.post(
                path, data=data or {}, headers=self._headers(kwargs.pop("headers", None)), **kwargs
            )
        )

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        if CSRF not in self.cookies:
            self.get("/login")
        answer = self.post("/login", {"email": email, "password": password})
        return answer


def unique_email(name: str) -> str:
    """Rate limits and accounts are per address: every test, every run, its own."""
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


def register(base_url: str, email: str, password: str = NEW_PASSWORD) -> Browserless:
    """A new patient, signed in (registration signs in)."""
    person = visitor(base_url)
    answer = person.post(
        "/register",
        {"email": email, "password": password, "full_name": "Test Person", "timezone": "UTC"},
    )
    assert answer.status_code == 303, answer.text
    return person


def mail_link(smtp_server: SmtpServer, to: str, subject: str, nth: int = 1) -> tuple[str, str]:
    """(the path the ``nth`` mail's link opens, with its ``?token=``) and its token."""
    smtp_server.wait_for_sync(lambda _: len(mails(smtp_server, to, subject)) >= nth, timeout=20)
    text = mails(smtp_server, to, subject)[nth - 1].text()
    found = _LINK.search(text)
    assert found is not None, text
    assert found.group(1).startswith(MAIL_PUBLIC_URL + "/"), text
    return found.group(1)[len(MAIL_PUBLIC_URL) :], found.group(2)


def mails(smtp_server: SmtpServer, to: str, subject: str) -> list[ReceivedMail]:
    return [m for m in smtp_server.messages if to in m.rcpt_tos and m.subject == subject]


_SIGNED_IN: dict[tuple[str, str], Browserless] = {}


def signed_in(base_url: str, email: str) -> Browserless:
    """A demo account's signed-in visitor, shared by the tests of a server: sign-ins are
    rate-limited per client address (all tests are 127.0.0.1). Access tokens last
    15 minutes, longer than a test module runs."""
    key = (base_url, email)
    if key not in _SIGNED_IN:
        person = visitor(base_url)
        answer = person.sign_in(email)
        assert answer.status_code == 303, answer.text
        _SIGNED_IN[key] = person
    return _SIGNED_IN[key]


def visitor(base_url: str) -> Browserless:
    person = Browserless(httpx.Client(base_url=base_url, timeout=20))
    person.get("/login")
    assert CSRF in person.cookies
    return person


__all__ = [
    "ACCESS",
    "CSRF",
    "NEW_PASSWORD",
    "Browserless",
    "feed_audit_lines",
    "mail_link",
    "new_doctor",
    "register",
    "signed_in",
    "unique_email",
    "visitor",
]


def new_doctor(base_url: str, email: str, password: str = NEW_PASSWORD) -> None:
    """A doctor account of this test's own, created by the demo admin."""
    admin = signed_in(base_url, ADMIN)
    form = admin.get("/admin/doctors/new")
    specialty = re.search(r'<option value="([0-9a-f-]{36})"', form.text)
    assert specialty is not None, form.text
    created = admin.post(
        "/admin/doctors/new",
        {
            "email": email,
            "full_name": "Dr. Test Factor",
            "licence_number": f"T-{uuid.uuid4().hex[:8]}",
            "specialty_id": specialty.group(1),
            "consultation_fee": "30.00",
            "visit_minutes": "30",
            "timezone": "UTC",
            "password": password,
        },
    )
    assert created.status_code == 303, created.text


def feed_audit_lines(base_url: str, count: int) -> None:
    """``count`` "calendar_feed.created" audit lines (a demo patient's, revoked at once)."""
    patient = signed_in(base_url, OTHER_PATIENT)
    for _ in range(count):
        created = patient.post("/appointments/calendar", {"label": "paging"})
        assert created.status_code == 201
        feed = re.search(r'data-feed="([0-9a-f-]{36})"', created.text)
        assert feed is not None
        assert patient.post(f"/appointments/calendar/{feed.group(1)}/revoke").status_code == 303
