"""The system's side of the state machine: the sweep of overdue appointments."""

from __future__ import annotations

from hduce.application.appointments._shared import AppointmentUseCase, audit_status
from hduce.domain.appointments import UNANSWERED
from hduce.domain.errors import StaleVersion
from hduce.domain.identity import Actor


class ExpireOverdueAppointments(AppointmentUseCase):
    """Unanswered requests and proposals are cancelled at their start, approved visits
    nobody closed become NO_SHOW after the grace period. One transaction per appointment;
    any number of sweeps may run at once, and each appointment changes once (the version
    check)."""

    async def __call__(self) -> int:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            overdue = await uow.appointments.overdue(
                now, approved_before=now - self._policy.no_show_grace
            )
        changed = 0
        system = Actor.system()
        for candidate in overdue:
            try:
                async with self.change(system) as (uow, audit):
                    appointment = await uow.appointments.get(candidate.id, for_update=True)
                    if appointment is None or appointment.version != candidate.version:
                        continue  # someone else acted on it meanwhile
                    version_before = appointment.version
                    if appointment.status in UNANSWERED:
                        appointment.cancel(
                            actor=system,
                            now=now,
                            reason="not answered before the visit started",
                            policy=self._policy,
                        )
                    else:
                        appointment.mark_no_show(actor=system, now=now, policy=self._policy)
                    await uow.appointments.save(appointment, expected_version=version_before)
                    await audit_status(audit, appointment, "appointment.expired", now)
            except StaleVersion:
                # Someone else (another worker's sweep, a doctor) changed it between our
                # read and our write, where no row lock kept them out (SQLite, memory):
                # theirs stands, and the rest of the list still gets swept.
                continue
            changed += 1
        return changed
