"""Signing keys and service clients in process memory (unit tests): the
``SigningKeyStore`` and ``ServiceClientStore`` ports over dicts."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hduce.application.ports import ServiceClient, SigningKeyRecord


class InMemorySigningKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, SigningKeyRecord] = {}

    async def list_all(self) -> list[SigningKeyRecord]:
        return sorted(self._keys.values(), key=lambda record: record.generation)

    async def add(self, record: SigningKeyRecord) -> bool:
        taken = {key.generation for key in self._keys.values()}
        if record.generation in taken or record.kid in self._keys:
            return False
        self._keys[record.kid] = record
        return True

    async def delete(self, kids: list[str]) -> int:
        return sum(1 for kid in kids if self._keys.pop(kid, None) is not None)


class InMemoryServiceClientStore:
    def __init__(self) -> None:
        self._clients: dict[str, ServiceClient] = {}

    async def add(self, client: ServiceClient) -> None:
        if client.client_id in self._clients:
            raise ValueError(f"service client {client.client_id} exists already")
        self._clients[client.client_id] = client

    async def get(self, client_id: str) -> ServiceClient | None:
        return self._clients.get(client_id)

    async def list_all(self) -> list[ServiceClient]:
        return sorted(self._clients.values(), key=lambda c: (c.created_at, c.client_id))

    async def revoke(self, client_id: str, *, now: datetime) -> ServiceClient | None:
        client = self._clients.get(client_id)
        if client is None:
            return None
        if client.revoked_at is None:
            client = dataclasses.replace(client, revoked_at=now)
            self._clients[client_id] = client
        return client
