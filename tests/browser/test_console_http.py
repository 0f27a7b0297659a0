"""The console over plain HTTP (no browser): where it lives, what it answers to a
client that is not a browser, and that the JSON API beside it is unchanged."""

from __future__ import annotations

import httpx

from tests.browser.conftest import JWT_SECRET
from tests.browser.console import DEMO_PASSWORD, PATIENT

assert JWT_SECRET  # the server fixture's secret (imported for the reader: same app)


def test_the_root_is_the_console_and_the_api_stays_json(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        root = client.get("/")
        assert root.status_code == 303
        assert root.headers["location"] == "/login"

        page = client.get("/login", headers={"Accept-Language": "es-EC,es;q=0.9"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Iniciar sesión" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "'unsafe-inline'" not in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "__Host-hduce_csrf" in page.headers["set-cookie"]

        api = client.get("/api/v1/appointments")
        assert api.status_code == 401
        assert api.headers["content-type"] == "application/problem+json"

        asset = client.get("/static/htmx-2.0.11/htmx.min.js")
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]


def test_signing_in_without_the_csrf_token_is_refused(console_url: str) -> None:
    """A hostile page cannot sign a visitor into an account (login CSRF)."""
    with httpx.Client(base_url=console_url) as client:
        token = _csrf_token(client)
        # The cookie, as a browser would send it, but not the header a page of ours adds.
        refused = client.post(
            "/login",
            data={"email": PATIENT, "password": DEMO_PASSWORD},
            headers={"Cookie": f"__Host-hduce_csrf={token}"},
        )
        assert refused.status_code == 403
        assert "out of date" in refused.text
        assert "__Host-hduce_access" not in refused.headers.get("set-cookie", "")


def test_a_wrong_password_is_answered_on_the_form_in_words(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        token = _csrf_token(client)
        answer = client.post(
            "/login",
            data={"email": PATIENT, "password": "not the password"},
            headers={"X-CSRF-Token": token, "Cookie": f"__Host-hduce_csrf={token}"},
        )
        assert answer.status_code == 401
        assert 'role="alert"' in answer.text
        assert "invalid email or password" in answer.text
        assert "Traceback" not in answer.text


def _csrf_token(client: httpx.Client) -> str:
    """The CSRF cookie the sign-in page sets. (httpx keeps Secure cookies off plain
    http, where browsers make an exception for loopback: tests send it themselves.)"""
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    return cookie.split("__Host-hduce_csrf=", 1)[1].split(";", 1)[0]


def test_forms_work_without_javascript_through_their_csrf_field(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        token = _csrf_token(client)
        signed_in = client.post(
            "/login",
            data={"email": PATIENT, "password": DEMO_PASSWORD, "csrf_token": token},
            headers={"Cookie": f"__Host-hduce_csrf={token}"},
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/"
        assert "__Host-hduce_access=" in signed_in.headers["set-cookie"]
        forged = client.post(
            "/login",
            data={"email": PATIENT, "password": DEMO_PASSWORD, "csrf_token": "guessed"},
            headers={"Cookie": f"__Host-hduce_csrf={token}"},
        )
        assert forged.status_code == 403
