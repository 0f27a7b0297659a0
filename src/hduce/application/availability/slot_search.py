"""Free slots across doctors: "who can see me, where, and when?" (issue 14).

A composition of two existing use cases: ``ListDoctors`` finds the doctors of a
specialty and/or an institution (sorted by name), then ``ListFreeSlots`` answers each
one's free slots (restricted to the institution's hours when one is asked for). Both
keep their own rules; this adds only the bounds that keep one search cheap:

* a window of at most ``MAX_SEARCH_WINDOW`` (days of 24 h);
* at most ``MAX_DOCTORS_SCANNED`` doctors, the first by name, are looked at; the
  result says how many matched, so a client knows to narrow the search;
* at most ``MAX_SEARCH_RESULTS`` slots, sorted by start, then doctor name and id.

A date in ``from``/``to`` is a local day of each doctor's own timezone, as on the
per-doctor slots route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from uuid import UUID

from hduce.application.availability.free_slots import FreeSlot, ListFreeSlots
from hduce.application.availability.local_calendar import DayOrInstant, local_range
from hduce.application.clinic.doctors import DoctorProfile, ListDoctors
from hduce.application.ports import DoctorQuery, PageRequest
from hduce.domain.errors import InvalidInput

#: Longest window of one search: shorter than one doctor's (31 days), as it spans many.
MAX_SEARCH_WINDOW: Final = timedelta(days=14)
#: Most slots one search answers (and the default).
MAX_SEARCH_RESULTS: Final = 100
#: Most doctors one search looks at (the first by name); each costs a few queries.
MAX_DOCTORS_SCANNED: Final = 50


@dataclass(frozen=True, slots=True)
class FoundSlot:
    """One free slot and whose it is."""

    free: FreeSlot
    doctor: DoctorProfile


@dataclass(frozen=True, slots=True)
class SlotSearchResult:
    slots: list[FoundSlot]
    #: Doctors who match the filters (all of them, scanned or not).
    doctors_matched: int
    #: Doctors whose slots were looked at: at most ``MAX_DOCTORS_SCANNED``.
    doctors_scanned: int
    #: More slots were free than ``limit``: the latest ones were left out.
    truncated: bool


class SearchFreeSlots:
    """Free slots of every doctor matching a specialty and/or an institution."""

    #: How many doctors one search looks at (a test may lower it).
    max_doctors: int = MAX_DOCTORS_SCANNED

    def __init__(self, list_doctors: ListDoctors, list_free_slots: ListFreeSlots) -> None:
        self._list_doctors = list_doctors
        self._list_free_slots = list_free_slots

    async def __call__(
        self,
        start: DayOrInstant,
        end: DayOrInstant,
        *,
        specialty_id: UUID | None = None,
        institution_id: UUID | None = None,
        limit: int = MAX_SEARCH_RESULTS,
    ) -> SlotSearchResult:
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise InvalidInput(f"limit must be 1 to {MAX_SEARCH_RESULTS}", field="limit")
        # Checked once, in days of 24 h, before any doctor is looked up.
        if local_range(start, end, "UTC", start_field="from", end_field="to").duration > (
            MAX_SEARCH_WINDOW
        ):
            raise InvalidInput(
                f"search at most {MAX_SEARCH_WINDOW.days} days of slots at once", field="to"
            )
        page = await self._list_doctors(
            DoctorQuery(
                specialty_id=specialty_id,
                institution_id=institution_id,
                page=PageRequest(limit=self.max_doctors),
            )
        )
        found: list[FoundSlot] = []
        for profile in page.items:
            window = local_range(
                start, end, profile.doctor.timezone, start_field="from", end_field="to"
            )
            slots = await self._list_free_slots(profile.id, window, None, institution_id)
            found.extend(FoundSlot(slot, profile) for slot in slots)
        found.sort(key=lambda f: (f.free.slot.start, f.doctor.user.full_name, f.doctor.id))
        return SlotSearchResult(
            slots=found[:limit],
            doctors_matched=page.total,
            doctors_scanned=len(page.items),
            truncated=len(found) > limit,
        )
