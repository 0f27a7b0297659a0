"""Naming a client from its user agent, with ua-parser (the maintained Python port of
the uap-core rules, with its precompiled rule set and native matcher)."""

from __future__ import annotations

import functools

from hduce.domain.sessions import UNKNOWN_CLIENT

_OTHER = "Other"


class UaParserClientNamer:
    """``ClientNamer``: "Firefox on Linux", "Mobile Safari on iOS", "curl"; for a user
    agent the rules do not know, its first product token ("python-httpx")."""

    def name(self, user_agent: str | None) -> str:
        if not user_agent or not user_agent.strip():
            return UNKNOWN_CLIENT
        return _name(user_agent.strip()[:512])


@functools.lru_cache(maxsize=1024)
def _name(user_agent: str) -> str:
    # Cached: one account's clients send the same string again and again. Imported at
    # the first sign-in: ua-parser's rule set (a few MB) is not kept by an idle process.
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    if not browser or browser == _OTHER:
        # Not a browser the rules know: the product the client names first.
        product = user_agent.split(" ", 1)[0].split("/", 1)[0]
        browser = "".join(ch for ch in product if ch.isprintable())[:60] or UNKNOWN_CLIENT
    if system and system != _OTHER:
        return f"{browser} on {system}"
    return browser
