"""What the use cases report for monitoring, without knowing who collects it.

The composition root provides a Prometheus implementation
(``hduce.bootstrap.metrics``); ``NO_METRICS`` is the default of every use case that
takes one, so a use case built by hand (unit tests) reports to nobody. Counting that
needs nothing from inside a use case stays outside (decorators of the ports and of
the use cases in the composition root).
"""

from __future__ import annotations

from typing import Literal, Protocol

BookingOutcome = Literal["created", "conflict", "refused"]
"""created: stored; conflict: an overlap refused it (409); refused: another booking
rule did (outside working hours, in the past, too far ahead...: 422)."""

ReminderOutcome = Literal["due", "sent", "late"]
"""due: a reminder fell due and was claimed (once across processes); sent: its
``reminder.due`` event was emitted (the nearest one of those claimed together);
late: sent, but later than ``LATE_REMINDER`` after it fell due."""


class AppointmentMetrics(Protocol):
    def booking(self, outcome: BookingOutcome) -> None:
        """One booking attempt that reached the booking rules, by outcome."""
        ...

    def conflict_check(self, seconds: float) -> None:
        """How long the overlap check and the insert of one booking took."""
        ...

    def transition(self, from_status: str, to_status: str) -> None:
        """One committed move of an existing appointment."""
        ...


class ReminderMetrics(Protocol):
    def reminders(self, outcome: ReminderOutcome, count: int) -> None: ...


class NoMetrics:
    """Reports to nobody."""

    def booking(self, outcome: BookingOutcome) -> None:
        pass

    def conflict_check(self, seconds: float) -> None:
        pass

    def transition(self, from_status: str, to_status: str) -> None:
        pass

    def reminders(self, outcome: ReminderOutcome, count: int) -> None:
        pass


NO_METRICS = NoMetrics()
