"""``PlainTextEmail``: the message bytes, read back by the standard library's parser."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

import pytest

from hduce.adapters.mail_format import PlainTextEmail, encode_subject

SENT_AT = datetime(2030, 1, 9, 10, 0, tzinfo=UTC)


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.parametrize(
    "subject",
    [
        "Appointment approved",
        "Cita confirmada – Dr. Lucía Romero",
        "Ünïcödé " * 30,
        "A plain ASCII subject long enough to need folding on a line of its own, twice over",
        "=?utf-8?q?looks_encoded?=",
        "診察の予約が確定しました",
        "",
    ],
)
def test_any_subject_reads_back_the_same(subject: str) -> None:
    mail = PlainTextEmail("Clinic <clinic@example.org>", message_id_domain="example.org")
    message_id, data = mail.build(to="ana@example.org", subject=subject, body="x", date=SENT_AT)

    message = parsed(data)
    assert str(message["Subject"]) == subject
    assert str(message["Message-ID"]) == message_id
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert max(len(line) for line in head.split(b"\r\n")) <= 78


def test_headers_and_body_as_email_message_wrote_them() -> None:
    mail = PlainTextEmail("Clínica Ñandú <citas@example.org>", message_id_domain="example.org")
    body = "Hola María:\n" + "Su cita está confirmada. " * 5 + "\r\nFin\n"
    message_id, data = mail.build(to="ana@example.org", subject="Hola", body=body, date=SENT_AT)

    message = parsed(data)
    assert list(message.keys()) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    ]
    assert parseaddr(str(message["From"])) == ("Clínica Ñandú", "citas@example.org")
    assert parsedate_to_datetime(str(message["Date"])) == SENT_AT
    assert message_id.endswith("@example.org>")
    assert str(message["Auto-Submitted"]) == "auto-generated"
    assert message.get_content_charset() == "utf-8"
    # A line longer than 78 bytes: quoted-printable, as set_content chose.
    assert str(message["Content-Transfer-Encoding"]) == "quoted-printable"
    assert message.get_content().replace("\r\n", "\n") == body.replace("\r\n", "\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF line ends only


@pytest.mark.parametrize(
    ("body", "encoding"), [("See you.\n", "7bit"), ("¡Hasta pronto!", "8bit"), ("", "7bit")]
)
def test_short_lines_are_sent_as_text(body: str, encoding: str) -> None:
    mail = PlainTextEmail("clinic@example.org", message_id_domain="example.org")
    _, data = mail.build(to="ana@example.org", subject="s", body=body, date=SENT_AT)

    message = parsed(data)
    assert str(message["Content-Transfer-Encoding"]) == encoding
    assert message.get_content().rstrip("\r\n") == body.rstrip("\n")


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r", "\u2028", "\x0b", "\x85"])
def test_header_injection_is_refused(line_break: str) -> None:
    mail = PlainTextEmail("clinic@example.org", message_id_domain="example.org")
    injected = f"x{line_break}Bcc: everyone@example.org"
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        mail.build(to=injected, subject="s", body="b", date=SENT_AT)
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        mail.build(to="ana@example.org", subject=injected, body="b", date=SENT_AT)


def test_encoded_words_split_between_characters() -> None:
    # Every word decodes on its own: no UTF-8 sequence is cut in two.
    words = encode_subject("ñ" * 100).split("\r\n ")
    assert len(words) > 1
    assert all(word.startswith("=?utf-8?b?") and len(word) <= 75 for word in words)
