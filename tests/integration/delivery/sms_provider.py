"""A small Twilio-style SMS API for tests: a plain ASGI app served by uvicorn on a
free loopback port (see ``serve``).

``POST /2010-04-01/Accounts/{sid}/Messages.json`` with HTTP basic auth
``(sid, token)`` and form fields ``To``, ``From``, ``Body`` answers 201 with a
message resource and records the request. Errors look like Twilio's:
``{"code": ..., "message": ..., "more_info": ..., "status": ...}``:

* wrong or missing credentials: 401, code 20003;
* a ``To`` in ``invalid_numbers``: 400, code 21211;
* a missing field: 400, code 21604 (To) / 21603 (From) / 21602 (Body);
* ``echo_credentials_in_errors``: error messages quote the Authorization header
  (a misbehaving provider; the sender must scrub it).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.services import asgi_server_in_thread, free_port

API_PREFIX = "/2010-04-01"


@dataclass(frozen=True)
class ReceivedSms:
    account_sid: str
    to: str
    from_: str
    body: str
    content_type: str


@dataclass
class LocalSmsProvider:
    account_sid: str = "AC0123456789abcdef0123456789abcdef"
    auth_token: str = "test-auth-token-7f3a9c2e51d04b86"
    invalid_numbers: set[str] = field(default_factory=lambda: {"+15005550001"})
    echo_credentials_in_errors: bool = False
    base_url: str = ""
    received: list[ReceivedSms] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @property
    def api_url(self) -> str:
        """What ``HDUCE_SMS_API_URL`` is set to."""
        return f"{self.base_url}{API_PREFIX}"

    def messages(self) -> list[ReceivedSms]:
        with self._lock:
            return list(self.received)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, payload = self._handle(scope["method"], scope["path"], headers, body)
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        expected_path = f"{API_PREFIX}/Accounts/{self.account_sid}/Messages.json"
        if method != "POST" or path != expected_path:
            return self._error(404, 20404, "The requested resource was not found", headers)
        if not self._authorised(headers.get("authorization", "")):
            return self._error(401, 20003, "Authenticate", headers)
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        for name, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
            if not form.get(name):
                return self._error(400, code, f"A '{name}' parameter is required.", headers)
        if form["To"] in self.invalid_numbers:
            return self._error(
                400, 21211, f"The 'To' number {form['To']} is not a valid phone number.", headers
            )
        with self._lock:
            self._count += 1
            sid = f"SM{self._count:032d}"
            self.received.append(
                ReceivedSms(
                    account_sid=self.account_sid,
                    to=form["To"],
                    from_=form["From"],
                    body=form["Body"],
                    content_type=headers.get("content-type", ""),
                )
            )
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
        }

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        return decoded == f"{self.account_sid}:{self.auth_token}"

    def _error(
        self, status: int, code: int, message: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if self.echo_credentials_in_errors:
            authorization = headers.get("authorization", "")
            decoded = base64.b64decode(authorization.partition(" ")[2] or b"").decode(
                errors="replace"
            )
            message = f"{message} (you sent {authorization!r}, i.e. {decoded!r})"
        payload = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        with self._lock:
            self.refused.append(payload)
        return status, payload


@contextmanager
def serve(provider: LocalSmsProvider) -> Iterator[LocalSmsProvider]:
    """Run ``provider`` with uvicorn on 127.0.0.1 in a thread until the block ends."""
    port = free_port()
    provider.base_url = f"http://127.0.0.1:{port}"
    with asgi_server_in_thread(provider, port, name="SMS provider"):
        yield provider
