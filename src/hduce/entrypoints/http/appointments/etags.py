"""Entity tags of appointments: the version, as a strong ETag (``"3"``).

``If-Match`` on a change turns into the use case's ``expected_version``. As RFC 9110
(13.1.1) wants, it compares strongly: a weak tag (``W/"3"``) never matches, so it is
refused with 412 whatever the version; a version that is not the current one is
refused with 412 ``stale-version`` (``PreconditionFailed``, with ``expected_version``
and ``actual_version`` in the body). 409 stays for slot conflicts, and for the rare
change that loses a race without any ``If-Match``.

``If-None-Match`` on a read compares weakly, as the RFC says for it.
"""

from __future__ import annotations

import re

from hduce.domain.errors import InvalidInput
from hduce.entrypoints.http.preconditions import IF_MATCH, WeakIfMatch

_ENTITY_TAG = re.compile(r'^\s*(W/)?"(\d{1,18})"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names; None for no header or ``*`` (any).

    A weak tag raises ``WeakIfMatch`` (412). A list of several tags is refused (400): a
    change is made against one known state.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ENTITY_TAG.match(if_match)
    if match is None:
        raise InvalidInput(
            f'{IF_MATCH} must be one entity tag like "3" (the ETag of the appointment)',
            field=IF_MATCH,
        )
    if match.group(1):
        raise WeakIfMatch
    return int(match.group(2))


def matches(if_none_match: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names this version (or ``*``): answer 304."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    current = etag(version)
    return any(tag.strip().removeprefix("W/") == current for tag in if_none_match.split(","))
