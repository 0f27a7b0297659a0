"""The input rules of ``hduce.entrypoints.http.inputs``: what they accept, and that the
OpenAPI document states them for every input it declares (so clients and fuzzers
generating from the document send what the server accepts).

Their enforcement on every route, over HTTP on PostgreSQL, is
``tests/e2e/test_input_boundaries.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hduce.bootstrap.settings import Settings
from hduce.domain.errors import InvalidInput
from hduce.entrypoints.asgi import build_app
from hduce.entrypoints.http.clinic.schemas.schedule import parse_day_or_instant
from hduce.entrypoints.http.inputs import (
    DATE_PATTERN,
    DAY_OR_INSTANT_PATTERN,
    INSTANT_PATTERN,
    INSTANT_SINCE_1970_PATTERN,
    NO_NUL,
    refusal,
    refused_moments,
)
from tests.openapi_inputs import Document, Input, inputs, operations, sample

UTC = dt.UTC
PLUS_ONE = dt.timezone(dt.timedelta(hours=1))
MINUS_ONE = dt.timezone(-dt.timedelta(hours=1))


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Document:
    tmp_path: Path = tmp_path_factory.mktemp("inputs")
    settings = Settings.from_env({"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    return build_app(settings, mode="api").openapi_schema.to_schema()


def request_inputs(document: Document) -> list[Input]:
    return [target for operation in operations(document) for target in inputs(document, operation)]


# ------------------------------------------------------------------ the range


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(1900, 1, 1, tzinfo=UTC),
        dt.datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1900, 1, 1, 1, 0, tzinfo=PLUS_ONE),  # 1900-01-01T00:00Z
        dt.datetime(2030, 1, 8, 9, 0),  # naive: the use case refuses it, not the range
        dt.date(1900, 1, 1),
        dt.date(2199, 12, 31),
    ],
)
def test_the_range_and_its_bounds_are_accepted(value: dt.date) -> None:
    assert refusal(value) is None


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(1, 1, 1, tzinfo=PLUS_ONE),  # no UTC equivalent at all
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=MINUS_ONE),
        dt.datetime(1900, 1, 1, tzinfo=PLUS_ONE),  # 1899-12-31T23:00Z
        dt.datetime(2200, 1, 1, tzinfo=UTC),  # the upper bound is exclusive
        dt.datetime(2199, 12, 31, 23, 0, tzinfo=MINUS_ONE),
        dt.datetime(1, 1, 1),
        dt.date(1, 1, 1),
        dt.date(1899, 12, 31),
        dt.date(2200, 1, 1),
        dt.date(9999, 12, 31),
    ],
)
def test_values_outside_are_refused(value: dt.date) -> None:
    assert refusal(value) is not None


class Inner(msgspec.Struct):
    on: dt.date


class Outer(msgspec.Struct):
    at: dt.datetime
    days: list[Inner]
    renamed: dt.date = msgspec.field(name="day")


def test_every_date_in_a_decoded_body_is_checked_and_named_like_msgspec_does() -> None:
    body = Outer(
        at=dt.datetime(1, 1, 1, tzinfo=UTC),
        days=[Inner(dt.date(2030, 1, 1)), Inner(dt.date(9999, 1, 1))],
        renamed=dt.date(1800, 1, 1),
    )
    assert [path for path, _ in refused_moments(body)] == ["at", "days[1].on", "day"]


def test_an_instant_must_be_written_as_rfc_3339_says() -> None:
    at = dt.datetime(2030, 1, 8, 9, tzinfo=UTC)
    assert refusal(at, "2030-01-08T09:00:00Z") is None
    assert refusal(at, "2030-01-08 09:00:00Z") is not None  # msgspec reads it; the schema not
    body = Outer(at=at, days=[Inner(dt.date(2030, 1, 1))], renamed=dt.date(2030, 1, 1))
    sent = {"at": "2030-01-08 09:00:00Z", "days": [{"on": "2030-01-01"}], "day": "2030-01-01"}
    assert [path for path, _ in refused_moments(body, sent)] == ["at"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-01-08", dt.date(2030, 1, 8)),
        ("2030-01-08T09:00:00+01:00", dt.datetime(2030, 1, 8, 9, tzinfo=PLUS_ONE)),
        ("2030-01-08T09:00:00 01:00", dt.datetime(2030, 1, 8, 9, tzinfo=PLUS_ONE)),  # "+" unencoded
        ("2030-01-08T08:00:00Z", dt.datetime(2030, 1, 8, 8, tzinfo=UTC)),
    ],
)
def test_a_day_or_an_instant_is_read_as_documented(raw: str, expected: dt.date) -> None:
    assert parse_day_or_instant(raw, "from") == expected
    assert re.search(DAY_OR_INSTANT_PATTERN, raw.replace(" 01:00", "+01:00"))


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2030-01-08T09:00:00",  # no offset
        "2030-01-08T09",
        "2030-01-08 09:00:00+01:00",
        "20300108",
        "1893456000",
        "2030-01-08\x00",
    ],
)
def test_anything_else_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_day_or_instant(raw, "from")
    assert refused.value.field == "from"


# ------------------------------------------------------------------ the document


def refuses_nul(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    pattern = schema.get("pattern")
    return pattern is not None and re.search(pattern, "a\x00b") is None


def test_every_text_input_documents_that_nul_is_refused(document: Document) -> None:
    texts = [
        target
        for target in request_inputs(document)
        if target.location in ("query", "body")
        and (target.type == "string" or target.schema.get("items", {}).get("type") == "string")
        and target.format not in ("uuid", "date-time", "date")
        and "enum" not in target.schema
    ]
    assert len(texts) > 30
    assert [str(target) for target in texts if not refuses_nul(target.schema)] == []


def test_every_date_and_instant_input_documents_the_range(document: Document) -> None:
    moments = [
        target
        for target in request_inputs(document)
        if target.format in ("date-time", "date")
        or (target.type == "string" and re.match(r"\d{4}-", str(sample(document, target.schema))))
    ]
    assert len(moments) >= 14
    wrong = []
    for target in moments:
        pattern = target.schema.get("pattern", "")
        # The admin filters' own rule starts later (application.admin.filters).
        first = "1970-01-01" if pattern == INSTANT_SINCE_1970_PATTERN else "1900-01-01"
        accepted = [first, "2199-12-31"] if target.format != "date-time" else []
        if target.format != "date":
            accepted += [f"{first}T00:00:00Z", "2199-12-31T23:59:59.5+01:00"]
        refused = ["0001-01-01", "9999-12-31T23:59:59Z", "1899-12-31", "2200-01-01T00:00:00Z"]
        if not all(re.search(pattern, value) for value in accepted) or any(
            re.search(pattern, value) for value in refused
        ):
            wrong.append(f"{target}: {pattern!r}")
        elif target.format is not None or target.location == "body":
            assert first in target.schema.get("description", ""), target
    assert wrong == []


def test_the_documented_patterns_are_the_rules() -> None:
    assert re.search(NO_NUL, "Ana García\n") and not re.search(NO_NUL, "Ana\x00")
    assert re.search(INSTANT_PATTERN, "2030-01-08T09:00:00+01:00")
    assert not re.search(INSTANT_PATTERN, "2030-01-08T09:00:00")  # naive instants are refused
    assert re.search(DATE_PATTERN, "2030-01-08") and not re.search(DATE_PATTERN, "2030-1-8")
