"""``SmsSender`` over a Twilio-style HTTP API (``HDUCE_SMS_*``).

One request per message::

    POST {api_url}/Accounts/{account_sid}/Messages.json
    Authorization: Basic base64(account_sid:auth_token)
    Content-Type: application/x-www-form-urlencoded

    To=+593...&From=+1...&Body=...

Twilio itself (``https://api.twilio.com/2010-04-01``) and the providers that copy
its API answer 201 with the message resource, or 4xx/5xx with
``{"code": 21211, "message": "...", "more_info": "...", "status": 400}``.

Any non-2xx answer, and any transport error or timeout, raises
``SmsDeliveryFailed`` with the status and the provider's error code and message,
so ``DeliverPendingNotifications`` records it and retries. The auth token is
sent in a header only and is scrubbed from anything the provider echoes back.

The sender owns its ``httpx.AsyncClient`` (connection pool) unless one is
passed in; close it with ``aclose()``.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import structlog

log = structlog.get_logger("hduce.delivery")

DEFAULT_TIMEOUT = 10.0
_MAX_ERROR_TEXT = 300


class SecretText(Protocol):
    def reveal(self) -> str: ...


class SmsConfig(Protocol):
    """What the sender needs from the settings.

    ``hduce.bootstrap.settings.SmsSettings`` satisfies it; adapters may not import
    the bootstrap layer, hence a structural type rather than that class.
    """

    @property
    def api_url(self) -> str: ...
    @property
    def account_sid(self) -> str: ...
    @property
    def auth_token(self) -> SecretText: ...
    @property
    def from_number(self) -> str: ...


class SmsDeliveryFailed(Exception):
    """The SMS provider could not be reached or refused the message.

    ``status`` is the HTTP status (``None`` when no answer came) and ``code`` the
    provider's error code, when it gave one.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class HttpSmsSender:
    def __init__(
        self,
        settings: SmsConfig,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._url = (
            f"{settings.api_url.rstrip('/')}/Accounts/"
            f"{quote(settings.account_sid, safe='')}/Messages.json"
        )
        self._from = settings.from_number
        token = settings.auth_token.reveal()
        self._auth = httpx.BasicAuth(settings.account_sid, token)
        basic = base64.b64encode(f"{settings.account_sid}:{token}".encode()).decode()
        # What must never reach an exception message or a log line.
        self._secrets = tuple(s for s in (token, basic) if s)
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._timeout = timeout

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._owns_client:
            await self._client.aclose()

    async def send(self, *, to: str, body: str) -> None:
        try:
            response = await self._client.post(
                self._url,
                data={"To": to, "From": self._from, "Body": body},
                auth=self._auth,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise SmsDeliveryFailed(
                self._scrub(f"SMS provider unreachable: {type(exc).__name__}: {exc}")
            ) from exc
        if not response.is_success:
            raise self._failure(response)
        log.info("sms.sent", sink="http", status=response.status_code, sid=_sid(response))

    def _failure(self, response: httpx.Response) -> SmsDeliveryFailed:
        code: str | None = None
        detail = ""
        payload = _json(response)
        if isinstance(payload, dict):
            if payload.get("code") is not None:
                code = str(payload["code"])
            detail = str(payload.get("message") or payload.get("detail") or "")
        elif response.text:
            detail = response.text
        detail = " ".join(detail.split())[:_MAX_ERROR_TEXT]
        text = f"SMS provider answered {response.status_code}"
        if code:
            text += f" (error {code})"
        if detail:
            text += f": {detail}"
        return SmsDeliveryFailed(self._scrub(text), status=response.status_code, code=code)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _sid(response: httpx.Response) -> str | None:
    payload = _json(response)
    return str(payload.get("sid")) if isinstance(payload, dict) and payload.get("sid") else None
