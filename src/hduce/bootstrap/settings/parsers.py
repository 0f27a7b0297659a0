"""Generic parsers of environment values, and the redaction helpers they need.

A parser takes the stripped text of a variable and returns the typed value, or
raises ``Expected`` whose text completes "expected ..."; the caller adds the
variable's name and the (possibly redacted) value. Nothing here knows about
``HDUCE_*``: the variable table in ``variables.py`` picks parsers from here.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Choice = TypeVar("Choice", bound=str)


class Expected(Exception):
    """Raised by a parser; the text completes 'expected ...'."""


class Secret:
    """A string that never shows itself in ``repr``/``str`` (logs, tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        # Bytes: compare_digest refuses non-ASCII str.
        return isinstance(other, Secret) and secrets.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self._value)


# --------------------------------------------------------------------------- redaction


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``; for logs and error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def hidden(value: str) -> str:
    """How a refused secret is echoed: its length only."""
    return f"<redacted, {len(value)} characters>"


def url_without_password(value: str) -> str:
    """How a refused URL is echoed: quoted, password replaced."""
    return repr(redact_url(value))


# --------------------------------------------------------------------------- text


def text(value: str) -> str:
    return value


def secret_of_length(minimum: int, hint: str = "") -> Callable[[str], Secret]:
    def parse(value: str) -> Secret:
        if len(value) < minimum:
            raise Expected(f"at least {minimum} characters{hint}")
        return Secret(value)

    return parse


def one_of(*choices: Choice) -> Callable[[str], Choice]:
    """Case-insensitive; returns the choice as spelled here (``rs256`` -> ``RS256``)."""

    def parse(value: str) -> Choice:
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise Expected("one of " + ", ".join(choices))

    return parse


def boolean(value: str) -> bool:
    """``true`` or ``false`` (any case), as JSON spells them; nothing else."""
    folded = value.lower()
    if folded not in {"true", "false"}:
        raise Expected("true or false")
    return folded == "true"


def log_level(value: str) -> str:
    level = value.upper()
    level = "WARNING" if level == "WARN" else level
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise Expected("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def claim_text(value: str) -> str:
    """A JWT string claim (``iss``, ``aud``): no spaces, bounded."""
    if not value or len(value) > 255 or any(ch.isspace() for ch in value):
        raise Expected("a non-empty string or URI without spaces (at most 255 characters)")
    return value


def email_address(value: str) -> str:
    """A From header; kept as given, display name included."""
    _, address = parseaddr(value)
    if "@" not in address:
        raise Expected('an address such as "HDUCE <no-reply@example.org>"')
    return value


def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Expected("an IANA time zone such as UTC or America/Guayaquil") from None
    return value


def readable_file(value: str) -> str:
    path = Path(value).expanduser()
    if not path.is_file() or not os.access(path, os.R_OK):
        raise Expected("a readable file (PEM private key)")
    return str(path)


# --------------------------------------------------------------------------- numbers


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise Expected(f"an integer {low}..{high}") from None
        if not low <= number <= high:
            raise Expected(f"an integer {low}..{high}")
        return number

    return parse


# --------------------------------------------------------------------------- network


def host(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", value):
        raise Expected("a host name or IP address such as 127.0.0.1 or 0.0.0.0")
    return value.strip("[]")


def http_url(value: str) -> str:
    """An http(s) base URL, without its trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise Expected("an http:// or https:// URL")
    return value.rstrip("/")


def https_or_loopback_url(value: str) -> str:
    parts = urlsplit(value)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise Expected("an https:// URL (http:// only for localhost)")
    return value


# --------------------------------------------------------------------------- durations

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: str) -> timedelta:
    """``90`` (seconds), ``500ms``, ``1h30m``, ``2d``; ``ValueError`` otherwise."""
    text = value.strip().lower()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    if not text or _DURATION.sub("", text):
        raise ValueError(text)
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))


def show_duration(duration: timedelta) -> str:
    """The shortest whole unit: ``15m``, ``30d``; seconds when nothing else divides."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def duration_between(low: timedelta, high: timedelta) -> Callable[[str], timedelta]:
    def parse(value: str) -> timedelta:
        expected = f"a duration from {show_duration(low)} to {show_duration(high)}, e.g. 15m, 30d"
        try:
            duration = parse_duration(value)
        except ValueError:
            raise Expected(expected) from None
        if not low <= duration <= high:
            raise Expected(expected)
        return duration

    return parse


def seconds_up_to(high: float) -> Callable[[str], float]:
    """A positive number of seconds, at most ``high``; durations such as 500ms too."""

    def parse(value: str) -> float:
        expected = f"seconds > 0 and <= {high:g}, e.g. 0.5 or 500ms"
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError:
            raise Expected(expected) from None
        if not 0 < seconds <= high:
            raise Expected(expected)
        return seconds

    return parse


def positive_durations(value: str) -> tuple[timedelta, ...]:
    """A comma list, longest first, duplicates dropped; ``none``/``off`` is empty."""
    expected = 'a comma list of positive durations such as "24h,1h" (or "none")'
    if value.lower() in {"none", "off"}:
        return ()
    try:
        durations = {parse_duration(item) for item in value.split(",")}
    except ValueError:
        raise Expected(expected) from None
    if any(duration <= timedelta(0) for duration in durations):
        raise Expected(expected)
    return tuple(sorted(durations, reverse=True))
