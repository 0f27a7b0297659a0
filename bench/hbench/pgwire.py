"""A PostgreSQL proxy that counts what a client sends (one-off statement counting).

It reads the frontend side of the wire protocol and forwards every byte unchanged:
each Execute (extended protocol) or Query message (simple protocol: asyncpg sends
BEGIN, COMMIT and ROLLBACK that way) is one statement; Parse is a statement being
prepared (a prepared-statement cache miss); Sync and Query each end a round trip.
It sees everything a driver sends, pings and savepoints included, which no
SQLAlchemy event does. It answers "no" to SSL negotiation itself (loopback only).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from collections import Counter
from dataclasses import dataclass, field

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


def _text(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()[:110]


@dataclass
class WireCounts:
    statements: int = 0
    prepares: int = 0
    round_trips: int = 0
    transactions: int = 0
    by_text: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> WireCounts:
        return WireCounts(
            self.statements,
            self.prepares,
            self.round_trips,
            self.transactions,
            Counter(self.by_text),
        )

    def minus(self, other: WireCounts) -> WireCounts:
        return WireCounts(
            self.statements - other.statements,
            self.prepares - other.prepares,
            self.round_trips - other.round_trips,
            self.transactions - other.transactions,
            self.by_text - other.by_text,
        )


class CountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.counts = WireCounts()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _count(self, sql: str | None) -> None:
        text = _text(sql) if sql is not None else "(unknown prepared statement)"
        self.counts.statements += 1
        self.counts.by_text[text] += 1
        if re.match(r"(?i)\s*(BEGIN|START TRANSACTION)", text):
            self.counts.transactions += 1

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        pump = asyncio.create_task(_pipe(up_reader, writer))
        try:
            await self._frontend(reader, up_writer, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pump, 5)
            writer.close()

    async def _frontend(
        self,
        reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        # Startup: untyped messages; answer SSL/GSS requests with "N" ourselves.
        while True:
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            rest = await reader.readexactly(length - 8)
            if code in (_SSL_REQUEST, _GSS_REQUEST):
                client.write(b"N")
                await client.drain()
                continue
            upstream.write(head + rest)
            await upstream.drain()
            break
        statements: dict[str, str] = {}
        portals: dict[str, str | None] = {}
        while True:
            head = await reader.readexactly(5)
            kind = head[:1]
            (length,) = struct.unpack("!i", head[1:])
            body = await reader.readexactly(length - 4)
            if kind == b"Q":
                self._count(body.split(b"\0", 1)[0].decode(errors="replace"))
                self.counts.round_trips += 1
            elif kind == b"P":
                name, query = body.split(b"\0", 2)[:2]
                statements[name.decode()] = query.decode(errors="replace")
                self.counts.prepares += 1
            elif kind == b"B":
                portal, statement = body.split(b"\0", 2)[:2]
                portals[portal.decode()] = statements.get(statement.decode())
            elif kind == b"E":
                self._count(portals.get(body.split(b"\0", 1)[0].decode()))
            elif kind == b"S":
                self.counts.round_trips += 1
            upstream.write(head + body)
            await upstream.drain()
            if kind == b"X":
                return


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
