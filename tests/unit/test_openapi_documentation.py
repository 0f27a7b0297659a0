"""Every operation of the OpenAPI document is documented: a summary and tags, its error
responses (RFC 9457 problems, with examples), and examples for its request body and its
success responses. Every example in the document matches the schema it illustrates, and
the non-JSON ones (iCalendar, the event stream) are what the server writes.

Checked on two configurations, so the optional routes are covered too: the default one,
and one with Google sign-in and an asymmetric JWT algorithm (the JWKS route).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from litestar import Litestar
from litestar.routes import HTTPRoute

from hduce.application.appointments.parties import AppointmentWithParties, Party
from hduce.application.notifications.handler import realtime_message
from hduce.bootstrap.settings import Settings
from hduce.domain.appointments import Appointment, AppointmentStatus
from hduce.domain.notifications import Channel, Notification
from hduce.domain.scheduling import TimeSlot
from hduce.entrypoints.asgi import build_app
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.appointments.ics import appointment_ics
from hduce.entrypoints.http.appointments.responses import ICS_EXAMPLE
from hduce.entrypoints.http.auth.cookies import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
)
from hduce.entrypoints.http.auth.security import SAFE_METHODS, authenticates

Document = dict[str, Any]
Operation = tuple[str, str, dict[str, Any]]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

#: Operations without any 4xx response, and why none can happen.
NO_CLIENT_ERRORS = {
    # Liveness answers 200 whenever the process serves HTTP; it takes no input.
    ("GET", "/health"),
    # Readiness answers 200 or 503 (documented); it takes no input either.
    ("GET", "/health/ready"),
    # The public list of specialties has no parameters, body or authentication.
    ("GET", "/api/v1/specialties"),
    # The public verification keys: no parameters, no authentication.
    ("GET", "/.well-known/jwks.json"),
}

#: The one error response that is not a problem: the probes' report, some of them down.
READINESS_DOWN = ("GET", "/health/ready", "503")

#: Operations without a guard that still take credentials, or a token in the body instead.
SELF_AUTHENTICATING = {("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout")}
#: Operations for service clients: HTTP Basic, or the client's credentials in the form.
SERVICE_CLIENT_OPERATIONS = {("POST", "/api/v1/oauth/introspect"), ("POST", "/api/v1/oauth/revoke")}

#: Operations every configuration documents (so a route that drops out is noticed).
DEFAULT_OPERATION_COUNT = 113
#: The optional ones: Google sign-in (login, callback) and the JWKS.
OPTIONAL_OPERATIONS = {
    ("GET", "/api/v1/auth/google/login"),
    ("GET", "/api/v1/auth/google/callback"),
    ("GET", "/.well-known/jwks.json"),
}


def _app(tmp_path: Path, extra: dict[str, str]) -> Litestar:
    settings = Settings.from_env(
        {"HDUCE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db", **extra}
    )
    return build_app(settings, mode="api")


@pytest.fixture(scope="module")
def document(app: Litestar) -> Document:
    return app.openapi_schema.to_schema()


@pytest.fixture(scope="module", params=["default", "google-and-jwks"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    tmp_path = tmp_path_factory.mktemp(request.param)
    if request.param == "default":
        return _app(tmp_path, {})
    key_file = tmp_path / "jwt-key.pem"
    key_file.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _app(
        tmp_path,
        {
            "HDUCE_GOOGLE_CLIENT_ID": "client-id.apps.googleusercontent.com",
            "HDUCE_GOOGLE_CLIENT_SECRET": "client-secret",
            "HDUCE_GOOGLE_REDIRECT_URI": "https://clinic.example.org/api/v1/auth/google/callback",
            "HDUCE_JWT_ALGORITHM": "EdDSA",
            "HDUCE_JWT_PRIVATE_KEY_FILE": str(key_file),
        },
    )


def _operations(document: Document) -> list[Operation]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _schemas(document: Document) -> dict[str, Any]:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    return schemas


def _resolve(document: Document, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix), ref
    name = ref.removeprefix(prefix)
    return name, _schemas(document)[name]


def _unexemplified(
    document: Document, schema: dict[str, Any], where: str, seen: frozenset[str] = frozenset()
) -> list[str]:
    """Where ``schema`` leaves a value without an example (empty: fully exemplified).

    A value is exemplified by ``examples``/``example`` on its schema, by being fixed
    (``const``, ``enum``, ``null``), or when every part of it is: each property of an
    object, the items of an array, each non-null branch of a union (``$ref``s followed).
    """
    if "examples" in schema or "example" in schema:
        return []
    name, target = _resolve(document, schema)
    if name is not None:
        if name in seen:  # recursive: checked where it started
            return []
        return _unexemplified(document, target, f"{where} -> {name}", seen | {name})
    if "const" in schema or "enum" in schema or schema.get("type") == "null":
        return []
    for union in ("oneOf", "anyOf", "allOf"):
        if union in schema:
            return [
                missing
                for index, branch in enumerate(schema[union])
                for missing in _unexemplified(document, branch, f"{where}.{union}[{index}]", seen)
            ]
    if "properties" in schema:
        return [
            missing
            for key, value in schema["properties"].items()
            for missing in _unexemplified(document, value, f"{where}.{key}", seen)
        ]
    if schema.get("type") == "array" and "items" in schema:
        return _unexemplified(document, schema["items"], f"{where}[]", seen)
    return [where]


def _media_unexemplified(document: Document, media: dict[str, Any], where: str) -> list[str]:
    if media.get("examples") or "example" in media:
        return []
    return _unexemplified(document, media.get("schema", {}), where)


# ------------------------------------------------------------------ the operations


def test_every_route_is_in_the_document(document: Document) -> None:
    operations = {(method, path) for method, path, _ in _operations(document)}
    optional = operations & OPTIONAL_OPERATIONS
    assert len(operations - optional) == DEFAULT_OPERATION_COUNT
    assert optional in (set(), OPTIONAL_OPERATIONS)


def test_every_operation_has_a_summary_and_tags(document: Document) -> None:
    undocumented = [
        f"{method} {path}"
        for method, path, operation in _operations(document)
        if not operation.get("summary") or not operation.get("tags")
    ]
    assert undocumented == []


def test_every_operation_documents_its_client_errors(document: Document) -> None:
    without = sorted(
        f"{method} {path}"
        for method, path, operation in _operations(document)
        if not any(code.startswith("4") for code in operation.get("responses", {}))
    )
    expected = sorted(
        f"{method} {path}"
        for method, path, _ in _operations(document)
        if (method, path) in NO_CLIENT_ERRORS
    )
    assert without == expected


def test_if_match_is_documented_as_a_precondition(document: Document) -> None:
    """Every operation taking If-Match documents its 412 (a stale version, a weak tag),
    and the header's strong comparison."""
    taking = [
        (method, path, operation)
        for method, path, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "header" and parameter.get("name") == "If-Match"
    ]
    assert len(taking) >= 9  # the appointment transitions, reschedule, a doctor's edit
    for method, path, operation in taking:
        failed = operation["responses"].get("412")
        assert failed is not None, f"{method} {path} documents no 412"
        examples = failed["content"]["application/problem+json"]["examples"].values()
        assert {example["value"]["code"] for example in examples} == {
            "stale-version",
            "precondition-failed",
        }, f"{method} {path}"
        assert all(example["value"]["status"] == 412 for example in examples)


def test_error_responses_are_problems_with_examples(document: Document) -> None:
    """Bodies are ``Problem``s (not Litestar's default shape), each exemplified with
    its own status: what a client sees for that status."""
    wrong: list[str] = []
    for method, path, operation in _operations(document):
        for status, response in operation.get("responses", {}).items():
            if not status.startswith(("4", "5")):
                continue
            for media_type, media in (response.get("content") or {}).items():
                where = f"{method} {path} {status} {media_type}"
                name, _ = _resolve(document, media.get("schema", {}))
                examples = [example["value"] for example in media.get("examples", {}).values()]
                if not examples:
                    wrong.append(f"{where}: no example")
                if name == "Problem":
                    wrong.extend(
                        f"{where}: an example with status {example.get('status')}"
                        for example in examples
                        if example.get("status") != int(status)
                    )
                elif (method, path, status) != READINESS_DOWN:
                    wrong.append(f"{where}: {media.get('schema')} is not a Problem")
    assert wrong == []


def test_every_request_body_has_an_example(document: Document) -> None:
    missing = [
        gap
        for method, path, operation in _operations(document)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
        for gap in _media_unexemplified(document, media, f"{method} {path} body {media_type}")
    ]
    assert missing == []


def test_every_success_response_has_an_example(document: Document) -> None:
    """Every 2xx body, JSON or not (the SSE stream, the iCalendar file), is exemplified:
    by examples of the response, or down to each field of its schema."""
    missing = [
        gap
        for method, path, operation in _operations(document)
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2")
        for media_type, media in (response.get("content") or {}).items()
        for gap in _media_unexemplified(document, media, f"{method} {path} {status} {media_type}")
    ]
    assert missing == []


def test_no_content_responses_have_no_body(document: Document) -> None:
    with_body = [
        f"{method} {path} {status}"
        for method, path, operation in _operations(document)
        for status, response in operation.get("responses", {}).items()
        if status in {"204", "302", "304"} and response.get("content")
    ]
    assert with_body == []


# ------------------------------------------------------------------ authentication


def _guarded(app: Litestar) -> dict[tuple[str, str], bool]:
    """(method, path) -> whether a guard lets only signed-in callers through."""
    return {
        (method, route.path_format): any(authenticates(g) for g in handler.resolve_guards())
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }


def test_security_schemes_name_the_credentials_the_server_reads(document: Document) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    located = {
        name: (scheme["type"], scheme["in"], scheme["name"])
        for name, scheme in schemes.items()
        if name not in {"bearerAuth", "clientBasic"}
    }
    assert located == {
        "accessCookie": ("apiKey", "cookie", ACCESS_COOKIE),
        "refreshCookie": ("apiKey", "cookie", REFRESH_COOKIE),
        "csrfHeader": ("apiKey", "header", CSRF_HEADER),
    }
    assert schemes["clientBasic"]["type"] == "http"
    assert schemes["clientBasic"]["scheme"] == "basic"
    assert CSRF_COOKIE in schemes["csrfHeader"]["description"]
    assert "security" not in document  # no default: an operation says it, or it is public


def test_every_guarded_operation_requires_credentials_and_public_ones_none(
    app: Litestar, document: Document
) -> None:
    """Bearer, or the access cookie (+ the CSRF header on unsafe methods); exactly the
    operations behind ``requires_auth``/``requires_role``."""
    guarded = _guarded(app)
    bearer_or_cookie = [{"bearerAuth": []}, {"accessCookie": []}]
    bearer_or_cookie_and_csrf = [{"bearerAuth": []}, {"accessCookie": [], "csrfHeader": []}]
    wrong: list[str] = []
    for method, path, operation in _operations(document):
        security = operation.get("security")
        if guarded[(method, path)]:
            expected = bearer_or_cookie if method in SAFE_METHODS else bearer_or_cookie_and_csrf
            if security != expected:
                wrong.append(f"{method} {path} is guarded but documents {security}")
        elif (method, path) in SERVICE_CLIENT_OPERATIONS:
            if security != [{"clientBasic": []}, {}]:
                wrong.append(f"{method} {path} takes client credentials: {security}")
        elif (method, path) in SELF_AUTHENTICATING:
            if not security or {} not in security:
                wrong.append(f"{method} {path} takes a token in its body: {security}")
        elif security is not None:
            wrong.append(f"{method} {path} is public but documents {security}")
    assert wrong == []
    assert sum(guarded[(method, path)] for method, path, _ in _operations(document)) > 30


def test_every_requirement_names_declared_schemes(document: Document) -> None:
    declared = set(document["components"]["securitySchemes"])
    used = {
        name
        for _, _, operation in _operations(document)
        for requirement in operation.get("security", [])
        for name in requirement
    }
    assert used == declared


def test_icalendar_is_documented_where_it_is_served(document: Document) -> None:
    """``{id}.ics`` shares its route with the JSON read, and ``/calendar.ics`` is its alias."""
    paths = document["paths"]
    for path in (
        "/api/v1/appointments/{appointment_ref}",
        "/api/v1/appointments/{appointment_id}/calendar.ics",
    ):
        media = paths[path]["get"]["responses"]["200"]["content"]["text/calendar"]
        values = [example["value"] for example in media["examples"].values()]
        assert values == [ICS_EXAMPLE]
    read = paths["/api/v1/appointments/{appointment_ref}"]["get"]["responses"]["200"]["content"]
    assert set(read) == {"application/json", "text/calendar"}


# ------------------------------------------------------------------ the examples


def _examples(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example in the document: JSON-schema
    ``examples`` and the examples of media types (``{name: {value}}``)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{where}[{index}]")
        return
    if not isinstance(node, dict):
        return
    if "schema" in node and isinstance(node.get("examples"), dict):  # a media type
        for name, example in node["examples"].items():
            yield f"{where} example {name}", node["schema"], example["value"]
    elif isinstance(node.get("examples"), list) and ("type" in node or _is_schema(node)):
        schema = {key: value for key, value in node.items() if key != "examples"}
        for index, value in enumerate(node["examples"]):
            yield f"{where} examples[{index}]", schema, value
    for key, value in node.items():
        if key != "examples":
            yield from _examples(value, f"{where}.{key}")


def _is_schema(node: dict[str, Any]) -> bool:
    return any(key in node for key in ("$ref", "oneOf", "anyOf", "allOf", "const", "enum"))


def test_media_type_examples_are_example_objects(document: Document) -> None:
    """Only the fields OpenAPI allows (Litestar writes an ``Example.id`` out as is)."""
    allowed = {"summary", "description", "value", "externalValue"}
    extra = [
        f"{where}: {sorted(set(example) - allowed)}"
        for where, media in _media_types(document)
        for example in media.get("examples", {}).values()
        if set(example) - allowed
    ]
    assert extra == []


def _media_types(document: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    for method, path, operation in _operations(document):
        bodies = [("body", operation.get("requestBody", {}))]
        bodies += list(operation.get("responses", {}).items())
        for part, body in bodies:
            for media_type, media in (body.get("content") or {}).items():
                yield f"{method} {path} {part} {media_type}", media


def test_every_example_matches_its_schema(document: Document) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    components = document.get("components", {})
    found = list(_examples(document["paths"], "paths")) + list(
        _examples(components.get("schemas", {}), "components.schemas")
    )
    assert len(found) > 400
    invalid = []
    for where, schema, value in found:
        # Rooted in a copy of the document's components, so "#/components/..." resolves.
        validator = jsonschema_rs.Draft202012Validator(
            {"allOf": [schema], "components": components}, validate_formats=True
        )
        invalid.extend(f"{where}: {error.message}" for error in validator.iter_errors(value))
    assert invalid == []


# ------------------------------------------------------------------ written, not made up


def test_the_icalendar_example_is_what_the_server_writes() -> None:
    appointment = Appointment(
        id=UUID(demo.APPOINTMENT_ID),
        patient_id=UUID(demo.PATIENT_ID),
        doctor_id=UUID(demo.DOCTOR_ID),
        slot=TimeSlot(_instant(demo.STARTS_AT_UTC), _instant(demo.ENDS_AT_UTC)),
        status=AppointmentStatus.APPROVED,
        created_at=_instant(demo.BOOKED_AT),
        updated_at=_instant(demo.APPROVED_AT),
        reason=demo.VISIT_REASON,
        version=2,
    )
    entry = AppointmentWithParties(
        appointment,
        patient=Party(UUID(demo.PATIENT_ID), demo.PATIENT_NAME, demo.PATIENT_EMAIL),
        doctor=Party(UUID(demo.DOCTOR_ID), demo.DOCTOR_NAME, demo.DOCTOR_EMAIL),
    )
    assert appointment_ics(entry).decode() == ICS_EXAMPLE


def test_the_stream_example_is_what_the_server_writes() -> None:
    notification = Notification(
        id=UUID(demo.NOTIFICATION_ID),
        recipient_id=UUID(demo.PATIENT_ID),
        type="appointment.approved",
        title="Appointment approved",
        message=demo.APPROVED_MESSAGE,
        channel=Channel.IN_APP,
        created_at=_instant(demo.APPROVED_AT),
        dedupe_key="example",
        metadata=dict(demo.NOTIFICATION_METADATA),
    )
    written = msgspec.json.encode(realtime_message(notification)).decode()
    assert written == demo.STREAM_NOTIFICATION_DATA


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
