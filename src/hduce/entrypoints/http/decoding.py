"""Request decoding that holds every route to the rules of ``inputs``.

Litestar converts a handler's inputs in one step, leniently (``msgspec.convert`` with
``strict=False``): right for query strings, which are all text, but it also reads
``0``/``1`` as booleans and any number as a Unix timestamp, in bodies and queries
alike. ``enforce_strict_inputs`` puts a check in front of that step, on every route:

* the body is converted strictly (JSON types as the schema says), then every date and
  instant in it is checked (``inputs.refusal``: in range, written as RFC 3339 says);
* query, path and header values: no NUL; where the handler wants a boolean, an
  integer, a date or a date-time, the text must spell exactly that (``true``/``false``,
  digits, RFC 3339) and dates and instants must be in range; a UUID must be one;
* an optional parameter that is not text is left out to say "none": the text ``null``
  (which Litestar's lenient conversion reads as None) is refused;
* a query parameter that takes one value is refused when given twice (Litestar would
  keep the last one silently).

``StrictRequest`` answers a JSON body too deeply nested to decode with a 400 (msgspec
raises ``RecursionError``, which would otherwise be a 500).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import msgspec
from litestar import Litestar, Request
from litestar.datastructures import URL
from litestar.exceptions import ClientException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg, DependencyKwarg, ParameterKwarg
from litestar.typing import FieldDefinition

from hduce.entrypoints.http.inputs import refusal, refused_moments

_STRICT: Final = "_hduce_strict_inputs"
_INTEGER = re.compile(r"-?\d+")
_CHECKED_TYPES = (bool, int, dt.datetime, dt.date, uuid.UUID)
_PATH_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")

ErrorMessage = dict[str, str]
Parse = Callable[..., dict[str, Any]]


class StrictRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("The JSON body is nested too deeply") from None


def enforce_strict_inputs(app: Litestar) -> None:
    """Check the inputs of every HTTP route of ``app`` before Litestar converts them."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                _make_strict(handler)


def _make_strict(handler: HTTPRouteHandler) -> None:
    # Litestar has no setting for this, so the check wraps the conversion method of the
    # handler's signature model (a class generated for each handler; apps built from the
    # same controllers may share one, hence the mark). tests/e2e/test_input_boundaries.py
    # fails if a Litestar upgrade moves that seam.
    model = handler.signature_model
    if getattr(model, _STRICT, False):
        return
    parameters = handler.parsed_fn_signature.parameters
    body = parameters.get("data")
    body_type = body.annotation if body is not None and handler.resolve_data_dto() is None else None
    checked = {
        name: _target_type(field)
        for name, field in parameters.items()
        if name != "data" and not isinstance(field.kwarg_definition, DependencyKwarg | BodyKwarg)
    }
    decode_hook = handler.default_deserializer
    lenient: Parse = model.parse_values_from_connection_kwargs
    in_path = {name for path in handler.paths for name in _PATH_PARAMETER.findall(path)}
    # Aliases of the query parameters that take a single value.
    single_queries = {
        _alias(field, name)
        for name, field in parameters.items()
        if name in checked
        and name not in in_path
        and _source(field) == "query"
        and not field.is_non_string_sequence
    }

    def parse(connection: Request[Any, Any, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        errors: list[ErrorMessage] = []
        if body_type is not None and "data" in kwargs:
            kwargs = {
                **kwargs,
                "data": _strict_body(kwargs["data"], body_type, decode_hook, errors),
            }
        for name, target in checked.items():
            # An absent parameter is None here: no text to check (nor a "null").
            if (raw := kwargs.get(name)) is not None:
                errors.extend(_parameter_errors(parameters[name], name, raw, target))
        errors.extend(
            _error(alias, "must be given once", "query")
            for alias in single_queries
            if len(connection.query_params.getall(alias, [])) > 1
        )
        if errors:
            # Worded as Litestar words its own validation failures.
            where = URL.from_components(path=connection.url.path, query=connection.url.query)
            raise ValidationException(
                detail=f"Validation failed for {connection.method} {where}", extra=errors
            )
        return lenient(connection=connection, kwargs=kwargs)

    model.parse_values_from_connection_kwargs = staticmethod(parse)  # type: ignore[method-assign,assignment]
    setattr(model, _STRICT, True)


def _strict_body(
    raw: Any, body_type: Any, decode_hook: Callable[[Any, Any], Any], errors: list[ErrorMessage]
) -> Any:
    """``raw`` (decoded JSON) as ``body_type``, converted strictly; ``raw`` when refused."""
    try:
        value = msgspec.convert(raw, body_type, strict=True, dec_hook=decode_hook)
    except msgspec.ValidationError as error:
        message, _, where = str(error).partition(" - at `$")
        errors.append(_error(where.removeprefix(".").removesuffix("`") or None, message, "body"))
        return raw
    errors.extend(_error(path, reason, "body") for path, reason in refused_moments(value, raw))
    return value


def _target_type(field: FieldDefinition) -> type | None:
    """The type a text value of ``field`` becomes (for sequences, each item's), if it is
    one with rules of its own."""
    if field.is_non_string_sequence and field.inner_types:
        return _target_type(field.inner_types[0])
    if field.is_optional:
        types = [inner for inner in field.inner_types if not inner.is_none_type]
        return _target_type(types[0]) if len(types) == 1 else None
    annotation = field.annotation
    return annotation if annotation in _CHECKED_TYPES else None


def _alias(field: FieldDefinition, name: str) -> str:
    kwarg = field.kwarg_definition
    return (kwarg.name if isinstance(kwarg, ParameterKwarg) else None) or name


def _source(field: FieldDefinition) -> str:
    kwarg = field.kwarg_definition
    return kwarg.param_type.value if isinstance(kwarg, ParameterKwarg) else "query"


def _takes_text(field: FieldDefinition) -> bool:
    """Whether ``field`` (an optional parameter's non-None type) may be any text."""
    if field.is_non_string_sequence and field.inner_types:
        return _takes_text(field.inner_types[0])
    inner = [t for t in field.inner_types if not t.is_none_type] if field.is_optional else [field]
    return any(t.annotation is str or (t.is_union and _takes_text(t)) for t in inner)


def _parameter_errors(
    field: FieldDefinition, name: str, raw: Any, target: type | None
) -> list[ErrorMessage]:
    values = raw if isinstance(raw, list) else [raw]
    alias, source = _alias(field, name), _source(field)
    errors = [
        _error(alias, reason, source)
        for value in values
        if isinstance(value, str) and (reason := _text_problem(value, target)) is not None
    ]
    if not errors and field.is_optional and "null" in values and not _takes_text(field):
        errors.append(_error(alias, "null is not a value: leave the parameter out", source))
    return errors


def _text_problem(text: str, target: type | None) -> str | None:
    """Why ``text`` cannot stand for a ``target`` (``None``: it can)."""
    if "\x00" in text:
        return "must not contain NUL characters"
    if target is bool:
        return None if text in ("true", "false") else "Expected `true` or `false`"
    if target is int:
        return None if _INTEGER.fullmatch(text) else "Expected an integer"
    if target is uuid.UUID:
        try:
            msgspec.convert(text, uuid.UUID, strict=True)
        except msgspec.ValidationError as error:
            return str(error)
        return None
    if target is dt.datetime or target is dt.date:
        try:
            value = msgspec.convert(text, target, strict=True)
        except msgspec.ValidationError as error:
            return str(error)
        return refusal(value, text)
    return None


def _error(key: str | None, message: str, source: str) -> ErrorMessage:
    error: Mapping[str, str | None] = {"key": key, "message": message, "source": source}
    return {k: v for k, v in error.items() if v is not None}
