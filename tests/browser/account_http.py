"""Plain-HTTP helpers of the account pages' tests: a signed-in ``httpx`` client of the
console (cookies sent by hand: httpx keeps ``Secure`` cookies off plain http)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.browser.console import DEMO_PASSWORD

CSRF = "__Host-hduce_csrf"
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


def visitor(base_url: str) -> Browserless:
    person = Browserless(httpx.Client(base_url=base_url, timeout=20))
    person.get("/login")
    assert CSRF in person.cookies
    return person


__all__ = ["ACCESS", "CSRF", "Browserless", "visitor"]
