"""CPU per e-mail message built and flattened: what ``SmtpEmailSender`` sends.

Compares, in one process, the message as ``email.message.EmailMessage`` (default
policy) built and ``smtplib.send_message`` flattened it until 2026-12 with
``SmtpEmailSender.build_message`` now (``hduce.adapters.mail_format``), on a
notification-like Spanish message. Rounds alternate the two; prints the median
``time.process_time`` per message of each. No server, nothing is sent::

    uv run python bench/email_cpu.py [--messages 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hduce.adapters.email import SmtpEmailSender
from hduce.bootstrap.settings import Settings

FROM = "Hospital Digital UCE <citas@hduce.example.org>"
TO = "maria.jose@example.org"
SUBJECT = "Cita confirmada – Dr. Lucía Romero"
BODY = (
    "Hola María José:\n\n"
    "Su cita con la Dra. Lucía Romero (Cardiología) está confirmada para el miércoles "
    "9 de enero de 2030 a las 10:00.\n"
    "Por favor, llegue 15 minutos antes. ¡Gracias!\n"
)


def email_message() -> bytes:
    """The former build (smtp.py before mail_format) and send_message's flattening."""
    message = EmailMessage()
    message["From"] = FROM
    message["To"] = TO
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="hduce.example.org")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(BODY, charset="utf-8")
    with io.BytesIO() as out:
        BytesGenerator(out).flatten(message, linesep="\r\n")
        return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    smtp = Settings.from_env({"HDUCE_SMTP_URL": "smtp://127.0.0.1:25"}).delivery.smtp
    assert smtp is not None
    sender = SmtpEmailSender(smtp, FROM)

    def mail_format() -> bytes:
        return sender.build_message(to=TO, subject=SUBJECT, body=BODY).data

    builds: dict[str, Callable[[], bytes]] = {
        "EmailMessage (default policy) + BytesGenerator": email_message,
        "SmtpEmailSender.build_message (mail_format)": mail_format,
    }
    timings: dict[str, list[float]] = {name: [] for name in builds}
    for build in builds.values():
        build()  # warm-up: imports, first-use caches
    for _ in range(args.rounds):
        for name, build in builds.items():
            started = time.process_time()
            for _ in range(args.messages):
                build()
            timings[name].append((time.process_time() - started) / args.messages * 1e6)
    print(f"CPU per message built + flattened, median of {args.rounds} rounds x {args.messages}")
    for name, values in timings.items():
        print(f"  {name:<50} {statistics.median(values):8.1f} µs")
    before, after = (statistics.median(v) for v in timings.values())
    print(f"  ratio {before / after:.0f}x")


if __name__ == "__main__":
    main()
