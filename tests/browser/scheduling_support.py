"""What the scheduling pages' tests share: a console server of their own, and an HTTP
client signed in as someone.

A module gets its own ``hduce serve`` (SQLite, demo clinic) rather than the session's:
sign-in is limited to 30 attempts per client address in 5 minutes
(``IdentityPolicy.login_per_ip``), and every test here signs people in from 127.0.0.1,
so the whole browser suite on one server would meet the limit. A server of its own also
keeps these tests' bookings out of the other tests' weeks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.browser.conftest import JWT_SECRET
from tests.browser.console import DEMO_PASSWORD
from tests.e2e.server import clean_environment, run_command, running_server


@contextmanager
def own_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As the session's ``console_url`` fixture: the demo clinic on ``hduce serve``."""
    workdir = tmp_path_factory.mktemp("console-own")
    env = clean_environment(HDUCE_JWT_SECRET=JWT_SECRET)
    run_command(["seed-demo", "--password", DEMO_PASSWORD], env, workdir)
    with running_server(workdir, env) as base_url:
        yield base_url


CSRF = "__Host-hduce_csrf"
ACCESS = "__Host-hduce_access"


class Signed:
    """A client signed in as someone, sending the cookies itself (httpx keeps Secure
    cookies off plain http, where browsers make an exception for loopback)."""

    def __init__(self, client: httpx.Client, email: str) -> None:
        self.client = client
        page = client.get("/login")
        self.csrf = page.headers["set-cookie"].split(f"{CSRF}=", 1)[1].split(";", 1)[0]
        answer = client.post(
            "/login",
            data={"email": email, "password": DEMO_PASSWORD, "csrf_token": self.csrf},
            headers={"Cookie": f"{CSRF}={self.csrf}"},
        )
        assert answer.status_code == 303, answer.text
        self.access = answer.headers["set-cookie"].split(f"{ACCESS}=", 1)[1].split(";", 1)[0]

    @property
    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"{CSRF}={self.csrf}; {ACCESS}={self.access}"}

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.cookie)

    def post(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        return self.client.post(
            path, data={**(data or {}), "csrf_token": self.csrf}, headers=self.cookie
        )

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.client.request(
            method,
            "/api/v1" + path,
            headers={**self.cookie, "X-CSRF-Token": self.csrf},
            **kwargs,  # type: ignore[arg-type]
        )


@contextmanager
def signed_in(url: str, email: str) -> Iterator[Signed]:
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Signed(client, email)
