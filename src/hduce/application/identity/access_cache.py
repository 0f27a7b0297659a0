"""A process-local ``UserAccessCache`` in front of a shared one (Redis).

Each command to Redis costs the API about as much CPU as verifying the token itself:
a few seconds of local memory spare most of them. The process that changes an account
replaces both layers at once; other processes keep their local copy for its TTL at
most, then read the shared entry, which the change already replaced
(docs/decisions/0010-user-access-cache.md).
"""

from __future__ import annotations

from uuid import UUID

from hduce.application.ports import UserAccess, UserAccessCache


class LayeredUserAccessCache:
    def __init__(self, local: UserAccessCache, shared: UserAccessCache) -> None:
        self._local = local
        self._shared = shared

    async def get(self, user_id: UUID) -> UserAccess | None:
        access = await self._local.get(user_id)
        if access is None:
            access = await self._shared.get(user_id)
            if access is not None:
                await self._local.fill(access)
        return access

    async def fill(self, access: UserAccess) -> None:
        await self._shared.fill(access)
        await self._local.fill(access)

    async def put(self, access: UserAccess) -> None:
        await self._shared.put(access)
        await self._local.put(access)
