"""The console's languages: message catalogues, choosing one, dates in a time zone.

Catalogues are TOML files in ``messages/`` (one per language, the same keys in each;
``tests/unit/web`` checks that). A key is looked up in the chosen language and, if a
translator has not got to it yet, in English. Values are ``str.format`` templates.

Written by hand rather than with gettext/Babel: two languages and a few hundred
strings need no extraction or compile step, and TOML files are read by the standard
library. Date and weekday names come from the catalogue too (no CLDR needed for two
languages).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES: Final = ("en", "es")
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_COOKIE: Final = "hduce_lang"
_MESSAGES_DIR: Final = Path(__file__).parent / "messages"


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The flat ``{"section.key": text}`` table of ``language``."""
    with (_MESSAGES_DIR / f"{language}.toml").open("rb") as file:
        return _flatten(tomllib.load(file))


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it names one we have, else the best of Accept-Language."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Translator:
    """``t("key", name=...)`` for templates, and dates in one time zone and language."""

    language: str
    timezone: ZoneInfo

    def __call__(self, key: str, /, **values: object) -> str:
        text = catalogue(self.language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key, key)
        return text.format(**values) if values else text

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.timezone)

    def weekday(self, day: date) -> str:
        return self(f"weekdays.{day.weekday()}")

    def day(self, day: date) -> str:
        """e.g. "Mon 7 Dec 2026" / "lun 7 dic 2026"."""
        month = self(f"months.{day.month}")
        return f"{self.weekday(day)} {day.day} {month} {day.year}"

    def time(self, instant: datetime) -> str:
        return self.local(instant).strftime("%H:%M")

    def when(self, instant: datetime) -> str:
        """A date and time on the reader's wall clock, e.g. "Mon 7 Dec 2026, 09:30"."""
        local = self.local(instant)
        return f"{self.day(local.date())}, {local.strftime('%H:%M')}"
