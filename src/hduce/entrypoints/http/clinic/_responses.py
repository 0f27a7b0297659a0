"""Error responses the clinic routes document in OpenAPI (bodies are RFC 9457 problems)."""

from __future__ import annotations

from typing import Final

from litestar.openapi import ResponseSpec

from hduce.entrypoints.http.problems import Problem


def problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description)


INVALID: Final = {400: problem("Malformed or invalid input; `errors` names the field")}
UNAUTHENTICATED: Final = {401: problem("Not authenticated")}
FORBIDDEN: Final = {403: problem("Signed in, but not allowed to do this")}
SIGNED_IN: Final = {**UNAUTHENTICATED, **FORBIDDEN}
