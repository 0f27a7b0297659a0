"""``EmailSender`` over SMTP (``HDUCE_SMTP_URL``).

Library choice: the standard library's ``smtplib``, run in a worker thread with
``asyncio.to_thread``, rather than ``aiosmtplib``.

* No new dependency: ``smtplib`` has handled STARTTLS, implicit TLS, AUTH and
  SMTPUTF8 for decades. ``hduce.adapters.mail_format`` writes the message (what
  ``email.message.EmailMessage`` wrote, at a fraction of its CPU); a message to or
  from an address outside ASCII is still built by ``EmailMessage`` and sent with
  SMTPUTF8 as ``smtplib.send_message`` does.
* The volume is small: a delivery sweep every few seconds sends its batch one
  message at a time, so a blocking session in a thread costs one thread of the
  default executor while it lasts; the event loop is never blocked.
* Each message opens its own session (connect, TLS, login, send, QUIT): nothing
  goes stale between sweeps, and a failure concerns exactly one message.

Every socket operation is bounded by ``timeout``. A thread cannot be cancelled,
so a cancelled ``send`` still finishes (or times out) in the background; the
notification then stays pending and is sent again at the next sweep, which is
the at-least-once delivery the sweep already promises.

Any failure (refused connection, TLS or login error, refused sender or
recipient, timeout) raises ``SmtpDeliveryFailed`` naming the server, so
``DeliverPendingNotifications`` records it and retries. Passwords never appear
in messages.
"""

from __future__ import annotations

import asyncio
import base64
import io
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTPUTF8
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Protocol

import structlog

from hduce.adapters.mail_format import PlainTextEmail

log = structlog.get_logger("hduce.delivery")

DEFAULT_TIMEOUT = 10.0


class SecretText(Protocol):
    def reveal(self) -> str: ...


class SmtpConfig(Protocol):
    """What the sender needs from the settings.

    ``hduce.bootstrap.settings.SmtpSettings`` satisfies it; adapters may not import
    the bootstrap layer, hence a structural type rather than that class.
    """

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> SecretText | None: ...
    @property
    def implicit_tls(self) -> bool: ...  # smtps://: TLS from the first byte
    @property
    def starttls(self) -> bool: ...  # smtp+starttls://: upgrade after EHLO, or fail


class SmtpDeliveryFailed(Exception):
    """The SMTP server could not be reached or did not accept the message."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message as SMTP's DATA carries it (CRLF line ends, before dot-stuffing)."""

    message_id: str
    data: bytes
    #: Addresses outside ASCII: needs the server's SMTPUTF8 (RFC 6531).
    smtputf8: bool = False


class SmtpEmailSender:
    """Sends each email as a plain-text UTF-8 message through one SMTP session."""

    def __init__(
        self,
        settings: SmtpConfig,
        from_address: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context`` defaults to the system's trust store with host name checks;
        pass one to trust a private CA (or a test certificate)."""
        _, envelope_from = parseaddr(from_address)
        if "@" not in envelope_from:
            raise ValueError(f"not an email address: {from_address!r}")
        self._settings = settings
        self._from_address = from_address
        self._envelope_from = envelope_from
        self._domain = envelope_from.rpartition("@")[2]
        self._format = PlainTextEmail(from_address, message_id_domain=self._domain)
        self._timeout = timeout
        self._tls = tls_context or ssl.create_default_context()

    @property
    def server(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    async def send(self, *, to: str, subject: str, body: str) -> None:
        message = self.build_message(to=to, subject=subject, body=body)
        await asyncio.to_thread(self._deliver, message, to)
        log.info("email.sent", sink="smtp", server=self.server, message_id=message.message_id)

    def build_message(self, *, to: str, subject: str, body: str) -> OutgoingMessage:
        """The message as it goes on the wire (raises ``ValueError`` on header injection)."""
        now = datetime.now(UTC)
        if to.isascii() and self._envelope_from.isascii():
            message_id, data = self._format.build(to=to, subject=subject, body=body, date=now)
            return OutgoingMessage(message_id, data)
        return self._international_message(to=to, subject=subject, body=body, date=now)

    def _international_message(
        self, *, to: str, subject: str, body: str, date: datetime
    ) -> OutgoingMessage:
        """What ``smtplib.send_message`` sends for addresses outside ASCII: the
        ``EmailMessage`` flattened with UTF-8 headers."""
        message = EmailMessage()
        message["From"] = self._from_address
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(date)
        message["Message-ID"] = make_msgid(domain=self._domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body, charset="utf-8")
        with io.BytesIO() as out:
            # The default policy with UTF-8 headers and CRLF, as send_message does.
            BytesGenerator(out, policy=SMTPUTF8).flatten(message)
            return OutgoingMessage(str(message["Message-ID"]), out.getvalue(), smtputf8=True)

    def _deliver(self, message: OutgoingMessage, to: str) -> None:
        settings = self._settings
        try:
            smtp = self._connect()
            try:
                if settings.starttls:
                    smtp.ehlo()
                    # Raises SMTPNotSupportedError when the server does not offer it:
                    # a smtp+starttls:// URL never falls back to clear text.
                    smtp.starttls(context=self._tls)
                    smtp.ehlo()
                if settings.username:
                    password = settings.password.reveal() if settings.password else ""
                    _login(smtp, settings.username, password)
                refused = smtp.sendmail(
                    self._envelope_from, [to], message.data, _mail_options(smtp, message)
                )
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{code} {_text(reply)}" for code, reply in exc.recipients.values())
            raise SmtpDeliveryFailed(
                f"SMTP {self.server} refused the recipient: {reasons}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise SmtpDeliveryFailed(
                f"SMTP {self.server} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except OSError as exc:  # connection, TLS, timeouts and the other SMTP errors
            raise SmtpDeliveryFailed(f"SMTP {self.server}: {type(exc).__name__}: {exc}") from exc
        if refused:  # only when some of several recipients were refused; kept for safety
            raise SmtpDeliveryFailed(f"SMTP {self.server} refused {sorted(refused)}")

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.implicit_tls:
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=self._timeout, context=self._tls
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=self._timeout)


def _mail_options(smtp: smtplib.SMTP, message: OutgoingMessage) -> tuple[str, ...]:
    if not message.smtputf8:
        return ()
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("smtputf8"):  # send_message's check, in its words
        raise smtplib.SMTPNotSupportedError(
            "One or more source or delivery addresses require internationalized email "
            "support, but the server does not advertise the required SMTPUTF8 capability"
        )
    return ("SMTPUTF8", "BODY=8BITMIME")


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    if (username + password).isascii():
        smtp.login(username, password)
        return
    # smtplib encodes AUTH exchanges as ASCII; AUTH PLAIN is UTF-8 (RFC 4616).
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("non-ASCII credentials need AUTH PLAIN")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session politely; once the message is accepted, how QUIT goes does not
    matter (``with smtplib.SMTP(...)`` would raise on an odd QUIT reply, and the sweep
    would send the message a second time)."""
    try:
        smtp.quit()
    except OSError:
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
