"""The bytes of a plain-text UTF-8 email, written directly rather than through
``email.message.EmailMessage``.

Why: with its default policy, ``EmailMessage`` parses every header it is given into
the header registry's token trees and refolds them when flattened, about 1 ms of CPU
per message; the delivery sweep does that for every notification e-mail, and it was
the largest single cost of the worker per booking. Every header but the recipient,
the subject, the date and the message id is the same for all messages of a sender,
so ``PlainTextEmail`` renders those once (through the standard library, so they are
exactly what ``EmailMessage`` writes) and each message costs a few string joins.

What goes out is what ``EmailMessage`` + ``set_content(body, charset="utf-8")``
wrote, parsed back the same by any reader: the same headers in the same order; a
non-ASCII (or long) subject as RFC 2047 encoded words; the body as 7bit or 8bit text
when its lines are short, quoted-printable otherwise. Header injection raises the
``ValueError`` the standard library raises. A recipient outside ASCII is written
as UTF-8 (RFC 6532), which only an SMTPUTF8 session may carry: the SMTP sender
sends such messages through the standard library instead.
"""

from __future__ import annotations

import binascii
import io
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

CRLF = "\r\n"
#: The longest line a header or the body keeps unencoded (``email.policy``'s default).
MAX_LINE_LENGTH = 78
#: UTF-8 bytes per encoded word: base64 of 45 bytes is 60 characters, and with
#: ``=?utf-8?b?...?=`` a folded line stays within RFC 2047's 76 characters.
_WORD_BYTES = 45
#: The first word shares its line with "Subject: ".
_FIRST_WORD_BYTES = 39


def check_header_value(value: str) -> None:
    """Refuse what would end a header early (the standard library's check and words)."""
    if "".join(value.splitlines()) != value:
        raise ValueError("Header values may not contain linefeed or carriage return characters")


def encode_subject(subject: str) -> str:
    """``Subject`` header value: as is when short plain ASCII, else RFC 2047 words."""
    if (
        subject.isascii()
        and len("Subject: ") + len(subject) <= MAX_LINE_LENGTH
        and "=?" not in subject  # would read as an encoded word
    ):
        return subject
    words: list[bytes] = []
    chunk = bytearray()
    limit = _FIRST_WORD_BYTES
    for character in subject:
        encoded = character.encode()
        if chunk and len(chunk) + len(encoded) > limit:
            words.append(bytes(chunk))
            chunk.clear()
            limit = _WORD_BYTES
        chunk += encoded
    words.append(bytes(chunk))
    # Whitespace between two encoded words is dropped by readers (RFC 2047, 6.2).
    return (CRLF + " ").join(
        "=?utf-8?b?" + binascii.b2a_base64(word, newline=False).decode("ascii") + "?="
        for word in words
    )


def encode_body(body: str) -> tuple[str, bytes]:
    """The transfer encoding and the body with CRLF line ends (``set_content``'s choice:
    7bit or 8bit when every line fits in 78 bytes, else quoted-printable)."""
    lines = body.encode().splitlines()
    if max(map(len, lines), default=0) <= MAX_LINE_LENGTH:
        encoded = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if encoded.isascii() else "8bit"), encoded
    quoted = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)
    return "quoted-printable", quoted.replace(b"\n", b"\r\n")


def _rendered_header(name: str, value: str) -> str:
    """One header as ``EmailMessage`` (default policy) writes it, CRLF line ends."""
    message = EmailMessage()
    message[name] = value
    with io.BytesIO() as out:
        BytesGenerator(out).flatten(message, linesep=CRLF)
        header, _, _ = out.getvalue().decode("ascii").partition(CRLF + CRLF)  # no body
        return header


class PlainTextEmail:
    """Builds the messages of one sender (``From`` and the message id domain fixed)."""

    def __init__(self, from_address: str, *, message_id_domain: str) -> None:
        self._from_header = _rendered_header("From", from_address)
        self._domain = message_id_domain

    def build(self, *, to: str, subject: str, body: str, date: datetime) -> tuple[str, bytes]:
        """The message id and the message as SMTP's DATA carries it (CRLF line ends,
        before dot-stuffing). Raises ``ValueError`` on header injection."""
        check_header_value(to)
        check_header_value(subject)
        # An explicit domain: without one, make_msgid asks DNS for this host's name.
        message_id = make_msgid(domain=self._domain)
        encoding, payload = encode_body(body)
        head = CRLF.join(
            (
                self._from_header,
                "To: " + to,
                "Subject: " + encode_subject(subject),
                "Date: " + format_datetime(date),
                "Message-ID: " + message_id,
                # RFC 3834: tells autoresponders (vacation replies) not to answer.
                "Auto-Submitted: auto-generated",
                'Content-Type: text/plain; charset="utf-8"',
                "Content-Transfer-Encoding: " + encoding,
                "MIME-Version: 1.0",
                "",
                "",
            )
        )
        return message_id, head.encode() + payload
