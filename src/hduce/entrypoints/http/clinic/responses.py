"""Error responses the clinic routes document in OpenAPI (bodies are RFC 9457 problems)."""

from __future__ import annotations

from typing import Final

from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    problem_spec,
)

problem = problem_spec

INVALID: Final = {
    400: problem(
        400,
        "Malformed or invalid input; `errors` names the field",
        invalid_request_example("visit_minutes", "Expected `int` >= 5"),
        invalid_input_example("timezone", "'Europe/Madird' is not an IANA timezone"),
    )
}
UNAUTHENTICATED: Final = {401: problem(401, "Not authenticated")}
FORBIDDEN: Final = {403: problem(403, "Signed in, but not allowed to do this")}
SIGNED_IN: Final = {**UNAUTHENTICATED, **FORBIDDEN}
