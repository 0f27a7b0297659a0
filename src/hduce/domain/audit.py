"""Audit trail: who did what, when. Written in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from hduce.domain.identity import Actor, Role
from hduce.domain.ids import uuid7


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_role: Role
    actor_id: UUID | None
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid7)

    @classmethod
    def of(
        cls,
        actor: Actor,
        at: datetime,
        action: str,
        target_type: str,
        target_id: object,
        **details: Any,
    ) -> AuditEntry:
        return cls(at, actor.role, actor.user_id, action, target_type, str(target_id), details)
