"""The OpenAPI document says what the server accepts, no more and no less: each test
covers a disagreement Schemathesis found (``make fuzz``, ``--checks all``).

* Request bodies refuse unknown fields, and say so (``additionalProperties: false``).
* A body the handler may go without is ``required: false``.
* Documented patterns (``If-Match``, phone numbers, the admin filters' instants) match
  exactly what the server reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from hduce.application.admin.filters import instant as admin_instant
from hduce.bootstrap.settings import Settings
from hduce.domain.errors import InvalidInput
from hduce.domain.identity import validate_phone
from hduce.domain.text import plain_text
from hduce.entrypoints.asgi import build_app
from hduce.entrypoints.http.appointments.etags import expected_version as appointment_version
from hduce.entrypoints.http.auth.schemas import PHONE_PATTERN
from hduce.entrypoints.http.clinic.doctors import expected_version as doctor_version
from hduce.entrypoints.http.inputs import INSTANT_SINCE_1970_PATTERN, MULTILINE_TEXT, PLAIN_TEXT
from hduce.entrypoints.http.preconditions import WeakIfMatch

Document = dict[str, Any]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    tmp_path: Path = tmp_path_factory.mktemp("agree")
    settings = Settings.from_env({"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    return build_app(settings, mode="api")


@pytest.fixture(scope="module")
def document(app: Litestar) -> Document:
    return app.openapi_schema.to_schema()


def _operations(document: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield method.upper(), path, operation


def _component(document: Document, schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The component schemas a body schema names (through unions)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        yield name, document["components"]["schemas"][name]
    for branch in schema.get("oneOf", ()):
        yield from _component(document, branch)


def test_request_bodies_that_refuse_unknown_fields_say_so(
    app: Litestar, document: Document
) -> None:
    bodies = {
        (method, path): media["schema"]
        for method, path, operation in _operations(document)
        for media in operation.get("requestBody", {}).get("content", {}).values()
    }
    assert len(bodies) > 15
    open_schemas = []
    for (method, path), schema in bodies.items():
        for name, component in _component(document, schema):
            if component.get("additionalProperties") is not False:
                open_schemas.append(f"{method} {path}: {name}")
    assert open_schemas == []
    # And the server refuses what the document now forbids.
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/auth/login",
            json={"email": "a@example.org", "password": "x" * 12, "extra": 1},
        )
    assert answer.status_code == 400
    assert "unknown field" in answer.text


def test_every_request_struct_forbids_unknown_fields(app: Litestar) -> None:
    """So ``additionalProperties: false`` is true of every documented body."""
    lenient = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            body = handler.parsed_fn_signature.parameters.get("data")
            if body is None:
                continue
            for candidate in (body.annotation, *[t.annotation for t in body.inner_types]):
                if isinstance(candidate, type) and issubclass(candidate, msgspec.Struct):
                    info = msgspec.inspect.type_info(candidate)
                    assert isinstance(info, msgspec.inspect.StructType)
                    if not info.forbid_unknown_fields:
                        lenient.append(candidate.__name__)
    assert lenient == []


def test_optional_bodies_are_not_required(app: Litestar, document: Document) -> None:
    optional = {
        (method, path)
        for method, path, operation in _operations(document)
        if "requestBody" in operation and operation["requestBody"].get("required") is False
    }
    assert optional == {
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/appointments/{appointment_id}/complete"),
        ("POST", "/api/v1/appointments/{appointment_id}/decline"),
    }
    with TestClient(app) as client:
        # Without a body the server goes on to the credentials: 401, not a 400.
        assert client.post("/api/v1/auth/refresh").status_code == 401


def _accepts(read: Any, value: Any) -> bool:
    try:
        read(value)
    except InvalidInput:
        return False
    except WeakIfMatch:  # well-formed, refused later (412)
        return True
    return True


IF_MATCH_SAMPLES = [
    '"3"',
    ' "3" ',
    'W/"3"',
    "*",
    " * ",
    "3",
    '"3',
    '"3", "4"',
    "abc",
    '""',
    'w/"3"',
    '"1234567890"',
    '"1234567890123456789"',
    "",
]


@pytest.mark.parametrize(
    ("method", "path", "read"),
    [
        ("patch", "/api/v1/doctors/{doctor_id}", lambda v: doctor_version(v, None)),
        ("post", "/api/v1/appointments/{appointment_id}/approve", appointment_version),
        ("post", "/api/v1/appointments/{appointment_id}/reschedule", appointment_version),
    ],
)
def test_if_match_pattern_is_what_the_server_reads(
    document: Document, method: str, path: str, read: Any
) -> None:
    (parameter,) = [
        p for p in document["paths"][path][method]["parameters"] if p["name"] == "If-Match"
    ]
    pattern = re.compile(parameter["schema"]["pattern"])
    disagreements = [
        value for value in IF_MATCH_SAMPLES if bool(pattern.search(value)) != _accepts(read, value)
    ]
    assert disagreements == []


@pytest.mark.parametrize(
    "value",
    [
        "+34600111222",
        "+34 600 111 222",
        " +34600111222 ",
        "",
        "   ",
        "34600111222",
        "+0600111222",
        "+3460",
        "+346001112223334445",
        "0000000000000000000",
        "+34-600-111-222",
        "+34600111222\n",
    ],
)
def test_phone_pattern_is_the_e164_rule(value: str) -> None:
    documented = re.search(PHONE_PATTERN, value) is not None
    assert documented == _accepts(validate_phone, value)


TEXT_SAMPLES = [
    "Ana García",
    "Knee pain.\nSince Monday.",
    "Line\r\nbreak",
    "tab\there",
    "bare\rCR",
    "esc\x1b[31m",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "bidi\u202eevil",
    "isolate\u2066x\u2069",
    "emoji 🙂 ok",
    "",
]


@pytest.mark.parametrize("multiline", [False, True])
def test_text_patterns_are_the_plain_text_rule(multiline: bool) -> None:
    pattern = re.compile(MULTILINE_TEXT if multiline else PLAIN_TEXT)
    disagreements = [
        value
        for value in TEXT_SAMPLES
        if bool(pattern.search(value))
        != _accepts(lambda v: plain_text(v, "field", multiline=multiline), value)
    ]
    assert disagreements == []


def test_free_text_fields_document_the_plain_text_rule(document: Document) -> None:
    schemas = document["components"]["schemas"]
    expected = {
        ("RegisterRequest", "full_name"): PLAIN_TEXT,
        ("SpecialtyCreate", "name"): PLAIN_TEXT,
        ("SpecialtyCreate", "description"): MULTILINE_TEXT,
        ("DoctorPatch", "bio"): MULTILINE_TEXT,
        ("ReasonRequest", "reason"): PLAIN_TEXT,
        ("BookAppointmentRequest", "reason"): MULTILINE_TEXT,
        ("CompleteRequest", "notes"): MULTILINE_TEXT,
    }
    found = {}
    for (name, field), _ in expected.items():
        schema = schemas[name]["properties"][field]
        branches = [schema, *schema.get("oneOf", ())]
        found[(name, field)] = next(b["pattern"] for b in branches if "pattern" in b)
    assert found == expected


@pytest.mark.parametrize(
    "written",
    [
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "2199-12-31T23:59:59Z",
        "2030-06-01T10:00:00+02:00",
    ],
)
def test_admin_filter_instants_are_documented_from_1970(written: str) -> None:
    documented = re.search(INSTANT_SINCE_1970_PATTERN, written) is not None
    value = datetime.fromisoformat(written)
    assert documented == _accepts(lambda v: admin_instant(v, "from"), value)


def test_phone_fields_document_the_e164_pattern(document: Document) -> None:
    schemas = document["components"]["schemas"]
    for name, field in [
        ("PatientPatch", "emergency_contact_phone"),
        ("RegisterRequest", "phone"),
        ("UpdateMeRequest", "phone"),
    ]:
        assert schemas[name]["properties"][field]["pattern"] == PHONE_PATTERN, name


def test_optional_header_and_query_parameters_are_not_nullable(document: Document) -> None:
    """A header or query value cannot be JSON null: a client sending the text
    ``null`` for one gets a 400, so the document must not offer it."""
    nullable = [
        f"{method} {path} {parameter['name']}"
        for method, path, operation in _operations(document)
        for parameter in operation.get("parameters", ())
        if parameter["in"] in ("header", "query")
        and any(branch.get("type") == "null" for branch in parameter["schema"].get("oneOf", ()))
    ]
    assert nullable == []
    patch = document["paths"]["/api/v1/doctors/{doctor_id}"]["patch"]
    (if_match,) = [p for p in patch["parameters"] if p["name"] == "If-Match"]
    assert if_match["schema"]["type"] == "string"
    assert if_match["required"] is False


def test_admin_filters_document_their_own_range(document: Document) -> None:
    for path in ("/api/v1/admin/audit", "/api/v1/admin/stats"):
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        for name in ("from", "to"):
            assert parameters[name]["schema"]["pattern"] == INSTANT_SINCE_1970_PATTERN
            assert "from 1970-01-01" in parameters[name]["description"]
