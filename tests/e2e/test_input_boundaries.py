"""Inputs that must be 4xx problems, never 500s, on every route, on PostgreSQL.

Each class of bad input is sent to every input the served OpenAPI document declares
(``tests/openapi_inputs.py``): a route added without the protection fails here. The
requests are otherwise valid (documented examples), and the refusal must come from the
boundary: a 400 whose ``errors`` name the input, before any use case or database runs
(ids in paths are random: validation comes first, so none needs to exist).

* NUL in any string: PostgreSQL refuses it and the statement fails.
* Dates and instants at the edges of the calendar (years 1 and 9999, with offsets, as
  Unix timestamps): arithmetic on them overflows. The range is 1900-01-01 up to
  2200-01-01 UTC; its bounds are accepted.
* Lax coercion: ``0``/``1`` for booleans, numbers (or a space for the ``T``) for
  date-times, ``1.0`` for integers.
* JSON nested 1,000 levels deep, with and without a session.

Requests go out as the admin, else (when a role guard refuses the admin) as the doctor
or the patient of the seeded clinic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.harness import API, NOW, PROBLEM_JSON, AppFactory, Backend, ClinicWorld
from tests.fakes import FixedClock
from tests.openapi_inputs import Document, Input, Request, inputs, operations, sample

PRINCIPALS = ("admin", "doctor", "patient")
NUL = "a\x00b"
DEEP = 1000

#: Edge instants, as JSON values (query parameters get them as text).
BAD_INSTANTS: tuple[Any, ...] = (
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59Z",
    "1899-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
    "2199-12-31T23:00:00-05:00",  # 2200-01-01T04:00Z
    253_402_300_799,  # 9999-12-31T23:59:59Z as a Unix timestamp
    253_402_300_800,  # year 10000
    0.5,
)
BAD_DATES: tuple[Any, ...] = ("0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", 20300108)
LAX_BOOLEANS: tuple[Any, ...] = (0, 1, "true", "1")
LAX_QUERY_BOOLEANS = ("0", "1", "True", "yes")
LAX_INSTANTS: tuple[Any, ...] = (0.5, 1_893_456_000, "1893456000", "2030-01-08 09:00:00+01:00")
LAX_QUERY_INTEGERS = ("1.0", "1e1", " 1")
LAX_BODY_INTEGERS: tuple[Any, ...] = ("30", 30.0, True)


@pytest.fixture
async def pg_world(production: Backend, make_client: AppFactory) -> ClinicWorld:
    """The seeded clinic on PostgreSQL + Redis (where NUL fails a statement)."""
    return await ClinicWorld.open(await make_client(backend=production, clock=FixedClock(NOW)))


@pytest.fixture
async def document(pg_world: ClinicWorld) -> Document:
    response = await pg_world.client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: Document = response.json()
    assert len(operations(body)) > 40
    return body


async def send(
    world: ClinicWorld, request: Request, *, who: str | None = "admin", content: bytes | None = None
) -> httpx.Response:
    headers = {**request.headers, **(await world.auth(who) if who else {})}
    if content is not None:
        headers["Content-Type"] = "application/json"
    elif request.has_body:
        content = json.dumps(request.body).encode()
        headers["Content-Type"] = "application/json"
    return await world.client.request(
        request.operation.method,
        request.url,
        params=request.query_string(),
        content=content,
        headers=headers,
    )


async def send_as_staff(
    world: ClinicWorld, request: Request, *, content: bytes | None = None
) -> httpx.Response:
    """As the admin, else as the first principal a role guard lets through."""
    for who in PRINCIPALS:
        response = await send(world, request, who=who, content=content)
        if response.status_code not in (401, 403):
            return response
    return response


def refusal(response: httpx.Response, target: Input) -> str | None:
    """What is wrong with ``response`` as the boundary's refusal of ``target``."""
    if response.status_code != 400:
        return f"{response.status_code}: {response.text[:300]}"
    if not response.headers["content-type"].startswith(PROBLEM_JSON):
        return f"not a problem: {response.headers['content-type']}"
    problem = response.json()
    named = {error.get("field") for error in problem.get("errors", [])}
    if target.name not in named:
        return f"400 without naming {target.name!r}: {response.text[:300]}"
    return None


def every_input(document: Document) -> Iterator[Input]:
    for operation in operations(document):
        yield from inputs(document, operation)


def is_text(target: Input) -> bool:
    items = target.schema.get("items", {})
    return target.type == "string" or (target.type == "array" and items.get("type") == "string")


def when(document: Document, target: Input) -> str | None:
    """What moment ``target`` names: an "instant", a "date", or "day-or-instant" (a string
    whose documented example, or made-up value, is a date is taken to accept both)."""
    if target.format in ("date-time", "date"):
        return "instant" if target.format == "date-time" else "date"
    if target.type == "string" and re.match(
        r"\d{4}-\d{2}-\d{2}", str(sample(document, target.schema))
    ):
        return "day-or-instant"
    return None


def as_query(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value)


# ------------------------------------------------------------------ NUL


async def test_nul_in_any_string_is_refused_at_the_boundary(
    pg_world: ClinicWorld, document: Document
) -> None:
    failures: dict[str, str] = {}
    checked = 0
    for target in every_input(document):
        if not is_text(target) or target.location == "header":  # HTTP cannot carry NUL there
            continue
        if target.location == "path" and target.format == "uuid":  # no route matches: 404
            continue
        value: Any = NUL
        if target.type == "array" and target.location != "body":
            value = [NUL]
        request = Request.base(document, target.operation).with_value(document, target, value)
        checked += 1
        if (problem := refusal(await send_as_staff(pg_world, request), target)) is not None:
            failures[str(target)] = problem
    assert checked > 60
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())


# ------------------------------------------------------------------ the calendar's edges


async def test_dates_and_instants_outside_1900_2200_are_refused(
    pg_world: ClinicWorld, document: Document
) -> None:
    failures: dict[str, str] = {}
    kinds: set[str] = set()
    for target in every_input(document):
        kind = when(document, target)
        if kind is None:
            continue
        kinds.add(kind)
        values = {
            "instant": BAD_INSTANTS,
            "date": BAD_DATES,
            "day-or-instant": BAD_INSTANTS + BAD_DATES,
        }[kind]
        base = Request.base(document, target.operation)
        for value in values:
            sent = value if target.location == "body" else as_query(value)
            request = base.with_value(document, target, sent)
            if (problem := refusal(await send_as_staff(pg_world, request), target)) is not None:
                failures[f"{target} = {value!r}"] = problem
    assert kinds == {"instant", "date", "day-or-instant"}
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())


async def test_the_bounds_themselves_are_accepted(pg_world: ClinicWorld) -> None:
    earliest, last = "1900-01-01T00:00:00Z", "2199-12-31T23:59:59+00:00"
    listed = await pg_world.get("admin", f"{API}/appointments", **{"from": earliest, "to": last})
    assert listed.status_code == 200, listed.text
    doctor = pg_world.id("doctor")
    slots = await pg_world.client.get(
        f"{API}/doctors/{doctor}/slots", params={"from": "2199-12-30", "to": "2199-12-31"}
    )
    assert slots.status_code == 200, slots.text  # empty: past the booking horizon
    extra = await pg_world.client.post(
        f"{API}/doctors/{doctor}/extra-hours",
        json={"date": "2199-12-31", "start": "09:00", "end": "24:00"},
        headers=await pg_world.auth("admin"),
    )
    assert extra.status_code == 201, extra.text
    time_off = await pg_world.client.post(
        f"{API}/doctors/{doctor}/time-off",
        json={"starts_at": "1900-01-01", "ends_at": "2199-12-31"},
        headers=await pg_world.auth("admin"),
    )
    assert time_off.status_code == 201, time_off.text


# ------------------------------------------------------------------ lax coercion


async def test_values_are_read_as_strictly_as_the_schema_says(
    pg_world: ClinicWorld, document: Document
) -> None:
    failures: dict[str, str] = {}
    kinds: set[str] = set()
    for target in every_input(document):
        in_body = target.location == "body"
        if target.type == "boolean":
            values = LAX_BOOLEANS if in_body else LAX_QUERY_BOOLEANS
        elif target.format == "date-time":
            values = LAX_INSTANTS if in_body else tuple(map(as_query, LAX_INSTANTS))
        elif target.type == "integer":
            values = LAX_BODY_INTEGERS if in_body else LAX_QUERY_INTEGERS
        else:
            continue
        kinds.add(f"{target.location}:{target.type}:{target.format}")
        base = Request.base(document, target.operation)
        for value in values:
            request = base.with_value(document, target, value)
            if (problem := refusal(await send_as_staff(pg_world, request), target)) is not None:
                failures[f"{target} = {value!r}"] = problem
    assert {"body:boolean:None", "query:boolean:None", "query:string:date-time"} <= kinds
    assert {"body:string:date-time", "query:integer:None", "body:integer:None"} <= kinds
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())


# ------------------------------------------------------------------ deep JSON


def nested(levels: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * levels + b"]" * levels
    return b'{"a":' * levels + b"1" + b"}" * levels


@pytest.mark.parametrize("kind", ["array", "object"])
async def test_deeply_nested_json_is_a_400_on_any_route(
    pg_world: ClinicWorld, document: Document, kind: str
) -> None:
    failures: dict[str, str] = {}
    body = nested(DEEP, kind)
    with_bodies = 0
    for operation in operations(document):
        if operation.path.endswith("/stream"):  # an endless event stream, and no body
            continue
        request = Request.base(document, operation)
        takes_body = request.has_body
        with_bodies += takes_body
        signed_in = await send_as_staff(pg_world, request, content=body)
        anonymous = await send(pg_world, request, who=None, content=body)
        wanted_signed_in = {400} if takes_body else set(range(200, 500))
        wanted_anonymous = {400, 401} if takes_body else set(range(200, 500))
        if signed_in.status_code not in wanted_signed_in:
            failures[f"{operation} signed in"] = f"{signed_in.status_code}: {signed_in.text[:200]}"
        if anonymous.status_code not in wanted_anonymous:
            failures[f"{operation} anonymous"] = f"{anonymous.status_code}: {anonymous.text[:200]}"
    assert with_bodies > 15
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())
