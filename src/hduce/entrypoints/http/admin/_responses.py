"""Error responses the admin read routes document in OpenAPI (RFC 9457 problem bodies)."""

from __future__ import annotations

from typing import Final

from litestar.openapi import ResponseSpec

from hduce.entrypoints.http.problems import Problem


def problem(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=Problem, description=description)


ADMIN_ONLY: Final = {
    400: problem(
        "Malformed filter: a timestamp without a UTC offset, `to` not after `from`, "
        "or a value out of range; `errors` names the parameter"
    ),
    401: problem("Not authenticated"),
    403: problem("Signed in, but not an admin"),
}

#: How the `from`/`to` query parameters are written (shared by both routes).
INSTANT_HINT: Final = (
    "Instants need a UTC offset (`2030-01-07T00:00:00Z`, `...+01:00`); in a query "
    "string write `+` as `%2B`."
)
