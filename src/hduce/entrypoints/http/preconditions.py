"""Conditional requests (RFC 9110, section 13) shared by the features: ``If-Match``.

``If-Match`` compares entity tags strongly (13.1.1): a weak tag (``W/"3"``) never
matches, so a request carrying one is refused with 412 Precondition Failed, whatever
the record's version. A version that is not the current one is refused with 412 too
(``PreconditionFailed``, raised by the use cases, code ``stale-version``).
"""

from __future__ import annotations

from typing import Final

from litestar.exceptions import HTTPException

from hduce.entrypoints.http.problems import problem_example

IF_MATCH: Final = "If-Match"

WEAK_IF_MATCH_DETAIL: Final = (
    f'{IF_MATCH} compares entity tags strongly: a weak tag (W/"3") never matches; '
    'send the ETag as it was given ("3")'
)


class WeakIfMatch(HTTPException):
    """A weak entity tag in ``If-Match`` (answered 412 ``precondition-failed``)."""

    status_code = 412

    def __init__(self) -> None:
        super().__init__(detail=WEAK_IF_MATCH_DETAIL)


#: The 412 a weak tag gets, for the OpenAPI documents of routes taking ``If-Match``.
WEAK_IF_MATCH_EXAMPLE: Final = problem_example(
    412, "precondition-failed", WEAK_IF_MATCH_DETAIL, title="Precondition Failed"
)
