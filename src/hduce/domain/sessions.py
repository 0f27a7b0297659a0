"""Sessions as their owner sees them: which client, from which network, since when.

A session is one sign-in: one refresh-token family (ADR 0004). What is kept of the
client is what a person needs to recognise it ("Firefox on Linux", from
``203.0.113.0/24``), never the full address: ``coarse_network`` keeps the /24 of an
IPv4 address and the /48 of an IPv6 one (docs/decisions/0014-sessions-and-devices.md
says why). A *device* is the pair (client, network): a sign-in from a pair that none
of the account's earlier sessions had is a sign-in from a new device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

#: Prefix lengths kept of a client address: a network, not a household or a phone.
IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 48
#: The user agent is kept (for the owner to read) up to this many characters.
MAX_USER_AGENT_LENGTH: Final = 256
#: What a session shows when the client sent no user agent, or one nobody recognises.
UNKNOWN_CLIENT: Final = "unknown client"


def coarse_network(address: str | None) -> str | None:
    """The network of ``address`` in CIDR notation (``203.0.113.0/24``,
    ``2001:db8:85a3::/48``); None when there is no address or it is not one.

    An IPv4 address mapped into IPv6 (``::ffff:203.0.113.7``) is treated as IPv4."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def clip_user_agent(user_agent: str | None) -> str | None:
    """The user agent as stored: printable characters only, at most
    ``MAX_USER_AGENT_LENGTH``; None when nothing is left."""
    if not user_agent:
        return None
    printable = "".join(ch for ch in user_agent if ch.isprintable()).strip()
    return printable[:MAX_USER_AGENT_LENGTH] or None


@dataclass(frozen=True, slots=True)
class SignInClient:
    """Who is signing in, as the request shows it: the peer address and user agent."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class UserSession:
    """One session of an account (its id is the refresh-token family's)."""

    id: UUID
    user_id: UUID
    #: What kind of client: "Firefox on Linux", "curl", ``UNKNOWN_CLIENT``.
    client: str
    #: The network it was last used from (``coarse_network``), None when unknown.
    network: str | None
    #: The user agent as sent (``clip_user_agent``), None when none was.
    user_agent: str | None
    created_at: datetime
    last_used_at: datetime

    def same_device(self, client: str, network: str | None) -> bool:
        return self.client == client and self.network == network
