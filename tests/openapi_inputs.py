"""Every input an OpenAPI document declares, and requests that set one of them.

The input-boundary tests (``tests/unit/test_input_documentation.py`` on the document,
``tests/e2e/test_input_boundaries.py`` on the running app) walk what the served document
declares rather than a list of routes, so a route added without the protection fails
them: each query, path and header parameter, and each leaf of each request body
(objects followed into their properties, arrays into their first item).

``Request.base`` is a request that passes validation (documented examples, else values
made up from the schema); ``Request.with_value`` poisons one input of it.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

Document = dict[str, Any]
Schema = dict[str, Any]
Key = str | int

METHODS = ("get", "put", "post", "delete", "patch")
#: Values a string schema without an example may take, tried in order against its pattern.
_STRING_CANDIDATES = ("text", "2030-01-08", "2030-01-08T09:00:00+01:00", '"3"', "+34600111222")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Input:
    operation: Operation
    #: "query", "path", "header" or "body".
    location: str
    #: Parameter name, or the body field as error messages name it (``days.monday[0].start``).
    name: str
    schema: Schema = field(repr=False, compare=False)
    #: The JSON path inside the body (body inputs only).
    keys: tuple[Key, ...] = ()

    def __str__(self) -> str:
        return f"{self.operation} {self.location} {self.name}"

    @property
    def type(self) -> str | None:
        kind: str | None = self.schema.get("type")
        return kind

    @property
    def format(self) -> str | None:
        kind: str | None = self.schema.get("format")
        return kind


@dataclass
class Request:
    operation: Operation
    path_params: dict[str, str]
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any = None
    has_body: bool = False

    @classmethod
    def base(cls, document: Document, operation: Operation) -> Request:
        path_params: dict[str, str] = {}
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        for parameter in operation.spec.get("parameters", []):
            if parameter["in"] != "path" and not parameter.get("required"):
                continue
            value = sample(document, parameter.get("schema", {}))
            if parameter["in"] == "path":
                path_params[parameter["name"]] = str(value)
            elif parameter["in"] == "query":
                query[parameter["name"]] = value
            elif parameter["in"] == "header":
                headers[parameter["name"]] = str(value)
        body_schema = _body_schema(operation)
        body = sample(document, body_schema) if body_schema is not None else None
        return cls(operation, path_params, query, headers, body, body_schema is not None)

    def with_value(self, document: Document, target: Input, value: Any) -> Request:
        changed = copy.deepcopy(self)
        if target.location == "path":
            changed.path_params[target.name] = value
        elif target.location == "query":
            changed.query[target.name] = value
        elif target.location == "header":
            changed.headers[target.name] = value
        else:
            changed.body = _set(document, changed.body, body_schema_of(target), target.keys, value)
        return changed

    @property
    def url(self) -> str:
        return re.sub(
            r"\{(\w+)\}",
            lambda match: quote(self.path_params[match.group(1)], safe=""),
            self.operation.path,
        )

    def query_string(self) -> dict[str, Any]:
        """The query as httpx sends it (booleans as ``true``/``false``)."""
        return {
            key: (str(value).lower() if isinstance(value, bool) else value)
            for key, value in self.query.items()
        }


def operations(document: Document) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def inputs(document: Document, operation: Operation) -> Iterator[Input]:
    for parameter in operation.spec.get("parameters", []):
        if parameter["in"] in ("query", "path", "header"):
            schema = leaf(document, parameter.get("schema", {}))
            yield Input(operation, parameter["in"], parameter["name"], schema)
    body = _body_schema(operation)
    if body is not None:
        for keys, schema in _leaves(document, body, ()):
            yield Input(operation, "body", _field_name(keys), schema, keys)


def leaf(document: Document, schema: Schema) -> Schema:
    """``schema`` with ``$ref`` followed and a nullable union reduced to its other branch
    (keywords set beside the union, such as ``pattern``, kept)."""
    schema = resolve(document, schema)
    for union in ("oneOf", "anyOf"):
        branches = [b for b in schema.get(union, []) if resolve(document, b).get("type") != "null"]
        if len(branches) == 1:
            outer = {key: value for key, value in schema.items() if key != union}
            return {**leaf(document, branches[0]), **outer}
    return schema


def resolve(document: Document, schema: Schema) -> Schema:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    target: Schema = document["components"]["schemas"][ref.removeprefix("#/components/schemas/")]
    return target


def sample(document: Document, schema: Schema) -> Any:
    """A value ``schema`` accepts: its first example, else one made up from its type."""
    schema = leaf(document, schema)
    for key in ("examples", "enum"):
        if schema.get(key):
            return copy.deepcopy(schema[key][0])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: sample(document, property_schema)
            for name, property_schema in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [sample(document, schema.get("items", {}))]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return _string_sample(schema)


def body_schema_of(target: Input) -> Schema:
    schema = _body_schema(target.operation)
    assert schema is not None, target
    return schema


def _string_sample(schema: Schema) -> str:
    formats = {"uuid": str(uuid.uuid4()), "date-time": "2030-01-08T09:00:00+01:00"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    if schema.get("format") == "date":
        return "2030-01-08"
    pattern = schema.get("pattern")
    for candidate in _STRING_CANDIDATES:
        if pattern is None or re.search(pattern, candidate):
            return candidate
    raise AssertionError(f"no sample for {schema}")


def _body_schema(operation: Operation) -> Schema | None:
    content = operation.spec.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    return None if media is None else media.get("schema", {})


def _leaves(
    document: Document, schema: Schema, keys: tuple[Key, ...], depth: int = 0
) -> Iterator[tuple[tuple[Key, ...], Schema]]:
    schema = leaf(document, schema)
    if depth > 8:  # a recursive schema: deep enough
        return
    if schema.get("type") == "object" or "properties" in schema:
        for name, property_schema in schema.get("properties", {}).items():
            yield from _leaves(document, property_schema, (*keys, name), depth + 1)
    elif schema.get("type") == "array":
        yield from _leaves(document, schema.get("items", {}), (*keys, 0), depth + 1)
    else:
        yield keys, schema


def _field_name(keys: tuple[Key, ...]) -> str:
    name = ""
    for key in keys:
        name += f"[{key}]" if isinstance(key, int) else (f".{key}" if name else key)
    return name


def _set(document: Document, body: Any, schema: Schema, keys: tuple[Key, ...], value: Any) -> Any:
    """``body`` with ``value`` at ``keys``, containers made up from ``schema`` as needed."""
    if not keys:
        return value
    schema = leaf(document, schema)
    key, rest = keys[0], keys[1:]
    if isinstance(key, int):
        items = schema.get("items", {})
        body = body if isinstance(body, list) and body else [sample(document, items)]
        body[0] = _set(document, body[0], items, rest, value)
        return body
    body = body if isinstance(body, dict) else {}
    property_schema = schema.get("properties", {})[key]
    current = body.get(key, sample(document, property_schema))
    body[key] = _set(document, current, property_schema, rest, value)
    return body
