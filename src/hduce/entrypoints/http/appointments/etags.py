"""Entity tags of appointments: the version, as a strong ETag (``"3"``).

``If-Match`` on a change turns into the use case's ``expected_version``; a stale one
is refused with 409 ``stale-version`` (the status the API uses for every conflict,
with ``expected_version`` and ``actual_version`` in the body), never 412.
"""

from __future__ import annotations

import re

from hduce.domain.errors import InvalidInput

IF_MATCH = "If-Match"
_ENTITY_TAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names; None for no header or ``*`` (any).

    Weak tags (``W/"3"``) are accepted: a version number identifies the state whatever
    the representation. A list of several tags is refused: a change is made against
    one known state.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ENTITY_TAG.match(if_match)
    if match is None:
        raise InvalidInput(
            f'{IF_MATCH} must be one entity tag like "3" (the ETag of the appointment)',
            field=IF_MATCH,
        )
    return int(match.group(1))


def matches(if_none_match: str | None, version: int) -> bool:
    """True when ``If-None-Match`` names this version (or ``*``): answer 304."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    current = etag(version)
    return any(tag.strip().removeprefix("W/") == current for tag in if_none_match.split(","))
