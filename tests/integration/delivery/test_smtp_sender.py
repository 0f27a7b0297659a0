"""``SmtpEmailSender`` against real SMTP servers: the shared ``smtp_server`` fixture,
and local aiosmtpd servers for TLS, logins and refused recipients (``local_smtp.py``).
Settings come from ``HDUCE_SMTP_URL`` as in production."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.utils import parseaddr, parsedate_to_datetime

import pytest

from hduce.adapters.email import SmtpDeliveryFailed, SmtpEmailSender
from hduce.bootstrap.settings import Settings, SmtpSettings
from tests.integration.delivery.local_smtp import (
    HOST,
    Logins,
    RefusingHandler,
    TlsCertificates,
    make_certificates,
    smtp_controller,
)
from tests.services import ReceivedMail, RecordingHandler, SmtpServer, free_port

FROM = "Hospital Digital UCE <citas@hduce.example.org>"
SUBJECT = "Cita confirmada – Dr. Lucía Romero"
BODY = (
    "Hola María José:\n\n"
    "Su cita con la Dra. Lucía Romero (Cardiología) está confirmada para el miércoles "
    "9 de enero de 2030 a las 10:00.\n"
    "Por favor, llegue 15 minutos antes. ¡Gracias! ✔\n"
)


def smtp_settings(url: str) -> SmtpSettings:
    settings = Settings.from_env({"HDUCE_SMTP_URL": url})
    assert settings.delivery.smtp is not None
    return settings.delivery.smtp


def unique_recipient() -> str:
    return f"maria.jose+{uuid.uuid4().hex[:12]}@example.org"


def to(address: str) -> Callable[[ReceivedMail], bool]:
    return lambda mail: address in mail.rcpt_tos


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TlsCertificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def assert_delivered(mail: ReceivedMail, recipient: str) -> None:
    assert mail.mail_from == "citas@hduce.example.org"
    assert mail.rcpt_tos == (recipient,)
    message = mail.message
    assert parseaddr(str(message["From"])) == ("Hospital Digital UCE", "citas@hduce.example.org")
    assert str(message["To"]) == recipient
    assert str(message["Subject"]) == SUBJECT
    assert parsedate_to_datetime(str(message["Date"])).tzinfo is not None
    assert str(message["Message-ID"]).endswith("@hduce.example.org>")
    assert str(message["Auto-Submitted"]) == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    # SMTP carries CRLF line endings; the text is the same.
    assert mail.text().replace("\r\n", "\n") == BODY


async def test_a_message_arrives_with_its_headers_and_utf8_body(smtp_server: SmtpServer) -> None:
    sender = SmtpEmailSender(smtp_settings(smtp_server.url), FROM, timeout=5)
    recipient = unique_recipient()

    await sender.send(to=recipient, subject=SUBJECT, body=BODY)

    mail = await smtp_server.wait_for(to(recipient))
    assert_delivered(mail, recipient)
    # The subject travels RFC 2047-encoded, the body in UTF-8: nothing raw on the wire.
    assert SUBJECT.encode() not in mail.raw.split(b"\r\n\r\n", 1)[0]


async def test_a_refused_connection_raises() -> None:
    port = free_port(HOST)  # nothing listens there
    sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)

    with pytest.raises(SmtpDeliveryFailed, match=f"SMTP {HOST}:{port}: ConnectionRefusedError"):
        await sender.send(to=unique_recipient(), subject=SUBJECT, body=BODY)


async def test_a_refused_recipient_raises_with_the_servers_reply() -> None:
    handler = RefusingHandler({"nobody@example.org"})
    with smtp_controller(handler) as port:
        sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)
        with pytest.raises(SmtpDeliveryFailed) as caught:
            await sender.send(to="nobody@example.org", subject=SUBJECT, body=BODY)
        await sender.send(to="somebody@example.org", subject=SUBJECT, body=BODY)

    assert str(caught.value) == (
        f"SMTP {HOST}:{port} refused the recipient: 550 5.1.1 <nobody@example.org>: "
        "Recipient address rejected: User unknown"
    )
    assert [m.rcpt_tos for m in handler.messages] == [("somebody@example.org",)]


async def test_with_a_user_name_the_sender_logs_in() -> None:
    handler = RecordingHandler()
    logins = Logins("mailer", "p@ss wörd")
    with smtp_controller(handler, authenticator=logins, auth_require_tls=False) as port:
        sender = SmtpEmailSender(
            smtp_settings(f"smtp://mailer:p%40ss%20w%C3%B6rd@{HOST}:{port}"), FROM, timeout=5
        )
        recipient = unique_recipient()
        await sender.send(to=recipient, subject=SUBJECT, body=BODY)

    assert logins.attempts == [("mailer", "p@ss wörd")]
    [mail] = handler.messages
    assert_delivered(mail, recipient)


async def test_a_refused_login_raises_without_the_password() -> None:
    logins = Logins("mailer", "the-right-one")
    with smtp_controller(RecordingHandler(), authenticator=logins, auth_require_tls=False) as port:
        sender = SmtpEmailSender(
            smtp_settings(f"smtp://mailer:a-wrong-secret@{HOST}:{port}"), FROM, timeout=5
        )
        with pytest.raises(SmtpDeliveryFailed, match=r"answered 535 ") as caught:
            await sender.send(to=unique_recipient(), subject=SUBJECT, body=BODY)

    assert "a-wrong-secret" not in str(caught.value)


async def test_starttls_upgrades_before_logging_in(certificates: TlsCertificates) -> None:
    handler = RecordingHandler()
    logins = Logins("mailer", "s3cret")
    with smtp_controller(
        handler,
        tls_context=certificates.server_context(),
        require_starttls=True,
        authenticator=logins,  # auth_require_tls defaults to True: no AUTH in clear text
    ) as port:
        sender = SmtpEmailSender(
            smtp_settings(f"smtp+starttls://mailer:s3cret@{HOST}:{port}"),
            FROM,
            timeout=5,
            tls_context=certificates.client_context(),
        )
        recipient = unique_recipient()
        await sender.send(to=recipient, subject=SUBJECT, body=BODY)

    assert logins.attempts == [("mailer", "s3cret")]
    [mail] = handler.messages
    assert_delivered(mail, recipient)


async def test_starttls_is_never_skipped_when_the_server_does_not_offer_it() -> None:
    handler = RecordingHandler()
    with smtp_controller(handler) as port:  # no tls_context: no STARTTLS in EHLO
        sender = SmtpEmailSender(smtp_settings(f"smtp+starttls://{HOST}:{port}"), FROM, timeout=5)
        with pytest.raises(SmtpDeliveryFailed, match="SMTPNotSupportedError"):
            await sender.send(to=unique_recipient(), subject=SUBJECT, body=BODY)
    assert handler.messages == []


async def test_implicit_tls(certificates: TlsCertificates) -> None:
    handler = RecordingHandler()
    with smtp_controller(handler, ssl_context=certificates.server_context()) as port:
        sender = SmtpEmailSender(
            smtp_settings(f"smtps://{HOST}:{port}"),
            FROM,
            timeout=5,
            tls_context=certificates.client_context(),
        )
        recipient = unique_recipient()
        await sender.send(to=recipient, subject=SUBJECT, body=BODY)

    [mail] = handler.messages
    assert_delivered(mail, recipient)


async def test_an_untrusted_certificate_is_refused(certificates: TlsCertificates) -> None:
    handler = RecordingHandler()
    with smtp_controller(handler, ssl_context=certificates.server_context()) as port:
        # The system trust store does not know the test CA.
        sender = SmtpEmailSender(smtp_settings(f"smtps://{HOST}:{port}"), FROM, timeout=5)
        with pytest.raises(SmtpDeliveryFailed, match="SSLCertVerificationError"):
            await sender.send(to=unique_recipient(), subject=SUBJECT, body=BODY)
    assert handler.messages == []


async def test_header_injection_is_refused_before_connecting() -> None:
    port = free_port(HOST)  # would raise SmtpDeliveryFailed if it got that far
    sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)

    with pytest.raises(ValueError, match="linefeed or carriage return"):
        await sender.send(
            to="victim@example.org\r\nBcc: everyone@example.org", subject=SUBJECT, body=BODY
        )
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        await sender.send(to="victim@example.org", subject="Hi\r\nBcc: x@example.org", body=BODY)


async def test_a_long_non_ascii_subject_and_dotted_lines_arrive_intact() -> None:
    # Folded into several RFC 2047 words; a body line of a lone "." (which SMTP ends
    # DATA with unless dot-stuffed), long lines (quoted-printable) and trailing spaces.
    subject = (
        "Recordatorio: su cita con la Dra. Lucía Romero-Fernández de Córdoba "
        "(Cardiología pediátrica) es mañana a las 10:00 ✔ 診察 =?not-a-word?="
    )
    body = BODY + ".\n..\nLínea con espacio final \n" + "ñ" * 120 + "\n"
    handler = RecordingHandler()
    with smtp_controller(handler) as port:
        sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)
        await sender.send(to="ana@example.org", subject=subject, body=body)

    [mail] = handler.messages
    assert mail.subject == subject
    assert mail.text().replace("\r\n", "\n") == body
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78


async def test_an_ascii_subject_is_sent_as_is_and_a_short_utf8_body_as_8bit() -> None:
    handler = RecordingHandler()
    with smtp_controller(handler) as port:
        sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)
        await sender.send(to="ana@example.org", subject="Appointment approved", body="¡Hola!\n")

    [mail] = handler.messages
    assert b"\r\nSubject: Appointment approved\r\n" in mail.raw
    assert str(mail.message["Content-Transfer-Encoding"]) == "8bit"
    assert mail.text() == "¡Hola!\r\n"


async def test_a_non_ascii_recipient_needs_smtputf8() -> None:
    recipient = "maría@ejemplo.es"
    handler = RecordingHandler()
    with smtp_controller(handler, enable_SMTPUTF8=True) as port:
        sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)
        await sender.send(to=recipient, subject=SUBJECT, body=BODY)
    [mail] = handler.messages
    assert mail.rcpt_tos == (recipient,)
    assert str(mail.message["To"]) == recipient
    assert mail.subject == SUBJECT

    with smtp_controller(RecordingHandler(), enable_SMTPUTF8=False) as port:
        sender = SmtpEmailSender(smtp_settings(f"smtp://{HOST}:{port}"), FROM, timeout=5)
        with pytest.raises(SmtpDeliveryFailed, match="SMTPUTF8"):
            await sender.send(to=recipient, subject=SUBJECT, body=BODY)
