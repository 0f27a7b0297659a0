"""The audit trail, admin-only and read-only.

The use cases write it themselves (every appointment transition, every admin action)
in the transaction of the change; here it is only filtered and paged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from hduce.application.access import ensure_admin
from hduce.application.admin.filters import check_window, instant, text_filter
from hduce.application.ports import (
    Page,
    PageRequest,
    UnitOfWorkFactory,
)
from hduce.domain.audit import AuditEntry
from hduce.domain.identity import Actor


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit trail; ``None`` means "any". ``at_from <= at < at_before``."""

    target_id: str | None = None
    actor_id: UUID | None = None
    action: str | None = None
    at_from: datetime | None = None
    at_before: datetime | None = None
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """One page of audit entries, newest first, with the names of who acted."""

    entries: Page[AuditEntry]
    #: Full names of the accounts that acted on this page (the system has none).
    actor_names: Mapping[UUID, str]


class ListAuditEntries:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, actor: Actor, query: AuditQuery) -> AuditTrail:
        ensure_admin(actor, "read the audit trail")
        at_from, at_before = instant(query.at_from, "from"), instant(query.at_before, "to")
        check_window(at_from, at_before)
        target_id, action = (
            text_filter(query.target_id, "target_id"),
            text_filter(query.action, "action"),
        )
        async with self._uow_factory() as uow:
            page = await uow.audit.list(
                target_id=target_id,
                actor_id=query.actor_id,
                action=action,
                at_from=at_from,
                at_before=at_before,
                page=query.page,
            )
            # One lookup per distinct actor of the page (a page holds a few at most).
            names: dict[UUID, str] = {}
            for actor_id in {e.actor_id for e in page.items if e.actor_id is not None}:
                user = await uow.users.get(actor_id)
                if user is not None:
                    names[actor_id] = user.full_name
        return AuditTrail(page, names)
