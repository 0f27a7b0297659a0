"""Error responses ``/admin/audit`` and ``/admin/stats`` document in OpenAPI (RFC 9457
problem bodies)."""

from __future__ import annotations

from typing import Final

from hduce.entrypoints.http.problems import (
    invalid_input_example,
    invalid_request_example,
    problem_example,
    problem_spec,
)

ADMIN_ONLY: Final = {
    400: problem_spec(
        400,
        "Malformed filter: a timestamp without a UTC offset, `to` not after `from`, "
        "or a value out of range; `errors` names the parameter",
        invalid_input_example("to", "'to' must be after 'from'"),
        invalid_request_example(
            "from",
            "Invalid RFC3339 encoded datetime",
            source="query",
            detail="Validation failed for GET /api/v1/admin/stats?from=yesterday",
        ),
    ),
    401: problem_spec(401, "Not authenticated"),
    403: problem_spec(403, "Signed in, but not an admin"),
}

#: The statistics and reports: an admin scoped to an institution sees only theirs.
SCOPED_ADMIN_ONLY: Final = {
    **ADMIN_ONLY,
    403: problem_spec(
        403,
        "Signed in, but not an admin, or an admin scoped to another institution (ADR 0026)",
        problem_example(403),
        problem_example(
            403,
            "forbidden",
            "an admin of another institution may not see these statistics",
            summary="forbidden: another institution",
        ),
    ),
}

#: How the `from`/`to` query parameters are written (shared by both routes).
INSTANT_HINT: Final = (
    "Instants need a UTC offset (`2030-01-07T00:00:00Z`, `...+01:00`); in a query "
    "string write `+` as `%2B`."
)
