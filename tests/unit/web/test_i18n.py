"""The console's languages: catalogues agree, Accept-Language is read as browsers send
it, dates come out in the reader's zone and words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hduce.entrypoints.web.i18n import LANGUAGES, Translator, catalogue, negotiate, zone

TEMPLATES = Path(__file__).parents[3] / "src" / "hduce" / "entrypoints" / "web" / "templates"
#: A literal key: t("section.key") or t("section.key", name=...), not t("x." ~ name).
_KEY = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']\s*[,)]""")


def test_every_language_has_the_same_keys() -> None:
    keys = {language: set(catalogue(language)) for language in LANGUAGES}
    assert keys["es"] == keys["en"]


def test_every_key_the_templates_use_exists() -> None:
    used = {key for page in TEMPLATES.glob("*.html") for key in _KEY.findall(page.read_text())}
    assert used, "the pattern found no t(...) calls"
    assert used <= set(catalogue("en")), sorted(used - set(catalogue("en")))


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, "es-EC,es;q=0.9,en;q=0.8", "es"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "fr-FR,es;q=0.5,en;q=0.7", "en"),
        (None, "fr-FR,es;q=0.8,en;q=0.7", "es"),
        (None, "de", "en"),
        (None, None, "en"),
        (None, "es;q=0", "en"),
        ("es", "en-GB", "es"),
        ("xx", "es", "es"),
    ],
)
def test_the_language_is_the_cookie_else_the_best_accepted(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(cookie, header) == expected


def test_dates_are_in_the_reader_zone_and_language() -> None:
    instant = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    assert Translator("es", zone("America/Guayaquil")).when(instant) == "lun 7 dic 2026, 09:30"
    assert Translator("en", zone("Europe/Madrid")).when(instant) == "Mon 7 Dec 2026, 15:30"
    assert Translator("en", zone("UTC")).day(date(2027, 1, 3)) == "Sun 3 Jan 2027"


def test_an_unknown_zone_reads_as_utc_and_a_missing_key_as_english() -> None:
    assert zone("Mars/Olympus_Mons").key == "UTC"
    t = Translator("es", zone(None))
    assert t("doctors.found", count=3) == "3 médicos encontrados"
    assert t("no.such_key") == "no.such_key"
