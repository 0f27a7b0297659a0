"""RFC 9457 problem details for every error response.

Clients branch on ``code`` (also the last segment of ``type``), never on
``detail``. Domain errors carry user-facing messages and are shown as they
are. An overloaded or unreachable backing service (a connection pool exhausted,
the database refusing clients or down, Redis not answering) is a 503
``service-unavailable`` with ``Retry-After``. Anything else unexpected is logged
with its traceback and answered with a generic 500 that only says which request
id to quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated, Any, Final

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap

from hduce.bootstrap.outages import Outage, outage_of
from hduce.domain.errors import (
    AlreadyExists,
    AuthenticationFailed,
    BusinessRuleViolation,
    DomainError,
    IllegalTransition,
    InvalidInput,
    LinkGone,
    LinkRefused,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    SlotConflict,
    StaleVersion,
)
from hduce.domain.second_factor import SecondFactorRequired
from hduce.entrypoints.http import examples as demo
from hduce.entrypoints.http.examples import ex
from hduce.entrypoints.http.request_context import request_id_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://hduce.dev/problems/"

_log = structlog.get_logger(__name__)

# Looked up along the exception's MRO, so subclasses inherit their parent's status.
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    PermissionDenied: 403,
    AuthenticationFailed: 401,
    InvalidInput: 400,
    LinkRefused: 400,
    LinkGone: 410,
    SlotConflict: 409,
    StaleVersion: 409,
    PreconditionFailed: 412,
    AlreadyExists: 409,
    RateLimited: 429,
    BusinessRuleViolation: 422,
    DomainError: 422,
}

# Same codes as the matching domain errors, so a 401 is "unauthenticated"
# whether the router or a use case refused.
_HTTP_CODES = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    429: "rate-limited",
    500: "internal-error",
    503: "service-unavailable",
}

_encoder = msgspec.json.Encoder()


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem. Some codes add members: ``errors`` (``[{field, message}]``,
    400), ``entity`` (404), ``conflicting_appointment_ids`` (409 ``slot-conflict``),
    ``expected_version``/``actual_version`` (409/412 ``stale-version``),
    ``from_status``/``to_status`` (422 ``illegal-transition``), ``retry_after_seconds``
    (429, 503)."""

    type: Annotated[str, ex(PROBLEM_TYPE_BASE + "not-found")]
    title: Annotated[str, ex("Not found")]
    status: Annotated[int, ex(404)]
    #: What clients branch on; also the last segment of ``type``.
    code: Annotated[str, ex("not-found")]
    detail: Annotated[str, ex(f"doctor {demo.DOCTOR_ID} not found")] | None = None
    instance: Annotated[str, ex(f"/api/v1/doctors/{demo.DOCTOR_ID}")] | None = None
    #: Quote it when reporting a problem (also the ``X-Request-ID`` header).
    request_id: Annotated[str, ex(demo.REQUEST_ID)] | None = None


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    detail: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response[bytes]:
    """A problem+json response; ``extensions`` become extra top-level members."""
    problem = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=title or _title_for(status),
        status=status,
        code=code,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request),
    )
    body: dict[str, Any] = msgspec.structs.asdict(problem)
    body = {key: value for key, value in body.items() if value is not None}
    if extensions:
        body.update(extensions)
    return Response(
        content=_encoder.encode(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


# ------------------------------------------------------------------ OpenAPI

#: The typical problem (code, title, detail) of the statuses that error responses
#: document without examples of their own.
_TYPICAL: dict[int, tuple[str, str, str]] = {
    400: ("invalid-request", "Bad Request", "Validation failed"),
    401: ("unauthenticated", "Unauthenticated", "authentication required"),
    403: ("forbidden", "Forbidden", "this requires the admin role"),
}


def problem_example(
    status: int,
    code: str | None = None,
    detail: str | None = None,
    *,
    title: str | None = None,
    instance: str | None = None,
    summary: str | None = None,
    **extensions: Any,
) -> Example:
    """An OpenAPI example of a problem body, as ``problem_response`` writes it.

    Without ``code``: the typical problem of ``status``. Otherwise the title defaults
    to the code's words, as domain errors are titled ("slot-conflict" -> "Slot conflict").
    """
    typical = _TYPICAL.get(status)
    if typical is None:
        typical = (_slug(_title_for(status)), _title_for(status), "")
    typical_code, typical_title, typical_detail = typical
    if code is None or code == typical_code:
        code, title, detail = typical_code, title or typical_title, detail or typical_detail
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or code.replace("-", " ").capitalize(),
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body["request_id"] = demo.REQUEST_ID
    body.update(extensions)
    return Example(summary=summary or code, value=body)


def not_found_example(entity: str, entity_id: str) -> Example:
    """A 404 for a missing ``entity`` (also what someone else's record looks like)."""
    return problem_example(404, "not-found", f"{entity} {entity_id} not found", entity=entity)


def invalid_request_example(
    field: str, message: str, *, source: str = "body", detail: str = "Validation failed"
) -> Example:
    """A 400 from request validation: a malformed body, parameter or header."""
    return problem_example(
        400,
        "invalid-request",
        detail,
        title="Bad Request",
        summary=f"invalid-request: malformed {source}",
        errors=[{"field": field, "message": message, "source": source}],
    )


def invalid_input_example(field: str, message: str) -> Example:
    """A 400 from a use case or the domain refusing a well-formed value."""
    return problem_example(
        400,
        "invalid-input",
        message,
        summary=f"invalid-input: {field}",
        errors=[{"field": field, "message": message}],
    )


def problem_spec(status: int, description: str, *examples: Example) -> ResponseSpec:
    """An error response for a handler's ``responses``: a ``Problem`` body, described
    and exemplified (by ``examples``, or else by the typical problem of ``status``)."""
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        # Litestar would otherwise invent random values for every field.
        generate_examples=False,
        examples=list(examples) or [problem_example(status)],
    )


#: Litestar documents a 400 (in its own shape) for every route taking parameters, even
#: where only well-formed ones can reach the handler (a path id that is not a UUID is a
#: 404): routes without a more specific 400 declare this one, so the shape is right.
MALFORMED_REQUEST: Final = {400: problem_spec(400, "Malformed request")}


def problem_exception_handlers() -> ExceptionHandlersMap:
    """Litestar ``exception_handlers`` mapping every error to a problem."""
    return {
        DomainError: _domain_error,
        HTTPException: _http_exception,
        Exception: _server_error,
    }


def domain_status(exc: DomainError) -> int:
    """The HTTP status of a domain error (the web console answers with the same)."""
    return next(_DOMAIN_STATUS[cls] for cls in type(exc).__mro__ if cls in _DOMAIN_STATUS)


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    status = domain_status(exc)
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    match exc:
        case SlotConflict():
            extensions["conflicting_appointment_ids"] = [str(i) for i in exc.conflicting_ids]
        case StaleVersion():
            extensions["expected_version"] = exc.expected
            extensions["actual_version"] = exc.actual
        case IllegalTransition():
            extensions["from_status"] = exc.from_status
            extensions["to_status"] = exc.to_status
        case InvalidInput(field=str() as field):
            extensions["errors"] = [{"field": field, "message": exc.message}]
        case NotFound():
            extensions["entity"] = exc.entity
        case RateLimited():
            headers["Retry-After"] = str(exc.retry_after_seconds)
            extensions["retry_after_seconds"] = exc.retry_after_seconds
        case SecondFactorRequired():
            headers["WWW-Authenticate"] = "Bearer"
            extensions["challenge"] = exc.challenge
            extensions["expires_in"] = exc.expires_in
        case AuthenticationFailed():
            headers["WWW-Authenticate"] = "Bearer"
    return problem_response(
        request,
        status=status,
        code=exc.code,
        detail=exc.message,
        title=exc.code.replace("-", " ").capitalize(),
        headers=headers,
        extensions=extensions,
    )


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        # Server-side HTTPExceptions (ImproperlyConfigured, ...) may describe internals.
        return _unexpected(request, exc, status=status, headers=exc.headers)
    extensions: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        extensions["errors"] = [_field_error(item) for item in exc.extra]
    return problem_response(
        request,
        status=status,
        code=_HTTP_CODES.get(status) or _slug(_title_for(status)),
        # Litestar defaults detail to the status phrase, which is already the title.
        detail=exc.detail if exc.detail != _title_for(status) else None,
        headers=exc.headers,
        extensions=extensions,
    )


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    outage = outage_of(exc)
    if outage is not None:
        return _service_unavailable(request, exc, outage)
    return _unexpected(request, exc)


def _service_unavailable(
    request: Request[Any, Any, Any], exc: Exception, outage: Outage
) -> Response[bytes]:
    # One line, no traceback: under overload every refused request logs, and the
    # cause is known. Class names and SQLSTATE only (SQLAlchemy's messages quote
    # the statement's parameters, which may be personal data).
    _log.warning(
        "service unavailable",
        method=request.method,
        path=request.url.path,
        service=outage.service,
        outage=outage.kind,
        error=type(exc).__name__,
        cause=type(outage.error).__name__,
        sqlstate=getattr(outage.error, "sqlstate", None),
    )
    seconds = outage.retry_after_seconds
    return problem_response(
        request,
        status=503,
        code="service-unavailable",
        detail=f"The service is {'overloaded' if outage.kind == 'busy' else 'unavailable'}; "
        f"retry after {seconds} s.",
        headers={"Retry-After": str(seconds)},
        extensions={"retry_after_seconds": seconds},
    )


def _unexpected(
    request: Request[Any, Any, Any],
    exc: Exception,
    *,
    status: int = 500,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    _log.error(
        "unhandled exception",
        method=request.method,
        path=request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem_response(
        request,
        status=status,
        code=_HTTP_CODES.get(status) or _slug(_title_for(status)),
        detail="An unexpected error occurred. Quote the request id when reporting it.",
        headers=headers,
    )


def _field_error(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        return {"message": str(item)}
    error = {"field": item.get("key"), "message": item.get("message"), "source": item.get("source")}
    return {key: value for key, value in error.items() if value is not None}


def _title_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _slug(text: str) -> str:
    return "-".join(text.lower().split())
