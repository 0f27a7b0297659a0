"""The admin's read side on the in-memory adapters: ``GetClinicStats`` over a known
dataset (exact counts, days on the clinic's wall clock, age bands at a fixed clock,
no-show rate) and ``ListAuditEntries`` (filters, paging, names, admin actions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hduce.adapters.memory import (
    InMemoryRefreshTokenStore,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    InMemoryUserAccessCache,
)
from hduce.adapters.memory.statistics import InMemoryClinicStatistics
from hduce.application.admin.audit import AuditQuery, ListAuditEntries
from hduce.application.admin.statistics import ClinicStats, DayCount, GetClinicStats, StatsPolicy
from hduce.application.identity.accounts import CreateAccount, NewAccount, SetUserActive
from hduce.application.identity.policy import IdentityPolicy
from hduce.application.ports import PageRequest
from hduce.domain.appointments import AppointmentStatus as S
from hduce.domain.audit import AuditEntry
from hduce.domain.demographics import AgeBand, age_band, born_on_or_before
from hduce.domain.errors import InvalidInput, PermissionDenied
from hduce.domain.identity import Actor, Role, Sex
from hduce.domain.ids import uuid7
from tests.fakes import FakePasswordHasher, FixedClock
from tests.unit.application.stats_dataset import (
    NOW,
    WINDOW_END,
    WINDOW_START,
    StatsWorld,
    seed_stats_dataset,
    utc,
)

MADRID = StatsPolicy(timezone="Europe/Madrid")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def uow_factory(store: InMemoryStore, clock: FixedClock) -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory(store, clock)


@pytest.fixture
async def world(uow_factory: InMemoryUnitOfWorkFactory) -> StatsWorld:
    return await seed_stats_dataset(uow_factory)


def stats_use_case(
    store: InMemoryStore, clock: FixedClock, policy: StatsPolicy = MADRID
) -> GetClinicStats:
    return GetClinicStats(InMemoryClinicStatistics(store), clock, policy)


@pytest.fixture
def get_stats(store: InMemoryStore, clock: FixedClock) -> GetClinicStats:
    return stats_use_case(store, clock)


def admin(world: StatsWorld) -> Actor:
    return world.admin.actor


def days_with_visits(stats: ClinicStats) -> dict[date, int]:
    return {d.day: d.count for d in stats.appointments_by_day if d.count}


# ------------------------------------------------------------------ statistics


async def test_default_window_is_thirty_days_either_side_with_exact_counts(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    stats = await get_stats(admin(world))

    assert (stats.window_start, stats.window_end) == (WINDOW_START, WINDOW_END)
    assert stats.timezone == "Europe/Madrid"
    assert stats.appointments_total == 13
    assert stats.appointments_by_status == {
        S.PENDING: 2,
        S.PROPOSED: 0,
        S.APPROVED: 2,
        S.CHECKED_IN: 1,
        S.REJECTED: 1,
        S.CANCELLED: 1,
        S.COMPLETED: 4,
        S.NO_SHOW: 1,
        S.ENTERED_IN_ERROR: 1,
    }
    assert list(stats.appointments_by_status) == list(S)  # state-machine order
    assert stats.no_show_rate == pytest.approx(1 / 5)
    assert [(c.full_name, c.count) for c in stats.appointments_by_doctor] == [
        ("Alice Heart", 6),
        ("Bob Beat", 4),
        ("Carla Skin", 3),
    ]
    assert stats.appointments_by_doctor[0].doctor_id == world.doctor_id("alice")
    assert stats.appointments_by_doctor[0].specialty_id == world.specialty_id("cardiology")
    assert [(c.name, c.count) for c in stats.appointments_by_specialty] == [
        ("Cardiology", 10),
        ("Dermatology", 3),
    ]


async def test_days_are_the_clinic_calendar_days_of_the_window_zeros_included(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    stats = await get_stats(admin(world))

    days = [d.day for d in stats.appointments_by_day]
    # 09:00 on 8 December to 08:59 on 6 February in Madrid: 61 calendar days.
    assert days[0] == date(2029, 12, 8) and days[-1] == date(2030, 2, 6)
    assert len(days) == 61 == len(set(days))
    assert days == sorted(days)
    assert sum(d.count for d in stats.appointments_by_day) == stats.appointments_total
    assert days_with_visits(stats) == {
        date(2029, 12, 8): 1,
        date(2029, 12, 20): 1,
        date(2030, 1, 2): 1,
        date(2030, 1, 3): 2,
        date(2030, 1, 4): 1,
        date(2030, 1, 5): 1,
        date(2030, 1, 8): 2,  # 23:30 UTC on the 7th is 00:30 on the 8th in Madrid
        date(2030, 1, 10): 2,
        date(2030, 1, 15): 1,
        date(2030, 2, 6): 1,
    }


async def test_the_same_visits_fall_on_utc_days_when_the_clinic_runs_on_utc(
    world: StatsWorld, store: InMemoryStore, clock: FixedClock
) -> None:
    stats = await stats_use_case(store, clock, StatsPolicy(timezone="UTC"))(admin(world))

    assert DayCount(date(2030, 1, 7), 1) in stats.appointments_by_day
    assert DayCount(date(2030, 1, 8), 1) in stats.appointments_by_day


async def test_people_are_counted_as_of_today_in_the_clinic(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    stats = await get_stats(admin(world))

    assert stats.today == date(2030, 1, 7)
    assert stats.doctors_total == 3
    assert [(c.name, c.count) for c in stats.doctors_by_specialty] == [
        ("Cardiology", 2),
        ("Dermatology", 1),
        ("Paediatrics", 0),
    ]
    # Eight patient accounts (one deactivated, one without a profile); staff not counted.
    assert stats.patients_total == 8
    assert stats.patients_by_sex == {Sex.FEMALE: 3, Sex.MALE: 2, Sex.OTHER: 1, Sex.UNKNOWN: 2}
    assert stats.patients_by_age_band == {
        AgeBand.UNDER_18: 2,  # 14, and 17 (18 tomorrow)
        AgeBand.FROM_18_TO_39: 2,  # 18 today, 39
        AgeBand.FROM_40_TO_64: 1,  # 64 (65 tomorrow)
        AgeBand.FROM_65: 1,  # 65 today
        AgeBand.UNKNOWN: 2,  # no date of birth, no profile
    }


@pytest.mark.parametrize(
    ("timezone", "today", "bands"),
    [
        # 23:30 UTC on 6 January is already the 7th in Madrid: two birthdays have come.
        ("Europe/Madrid", date(2030, 1, 7), (2, 2, 1, 1)),
        ("UTC", date(2030, 1, 6), (3, 1, 2, 0)),
    ],
)
async def test_ages_use_today_on_the_clinic_wall_clock(
    world: StatsWorld,
    store: InMemoryStore,
    clock: FixedClock,
    timezone: str,
    today: date,
    bands: tuple[int, int, int, int],
) -> None:
    clock.set(utc("2030-01-06T23:30"))
    stats = await stats_use_case(store, clock, StatsPolicy(timezone=timezone))(admin(world))

    assert stats.today == today
    assert (
        stats.patients_by_age_band[AgeBand.UNDER_18],
        stats.patients_by_age_band[AgeBand.FROM_18_TO_39],
        stats.patients_by_age_band[AgeBand.FROM_40_TO_64],
        stats.patients_by_age_band[AgeBand.FROM_65],
    ) == bands


async def test_an_explicit_window_with_no_completed_visits_has_no_no_show_rate(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    start = datetime(2030, 1, 8, 0, 0, tzinfo=UTC)
    stats = await get_stats(admin(world), start, start + timedelta(days=1))

    assert stats.appointments_total == 1
    assert stats.appointments_by_status[S.PENDING] == 1
    assert stats.appointments_by_status[S.APPROVED] == 0  # 23:30 UTC on the 7th: outside
    assert stats.appointments_by_status[S.COMPLETED] == 0  # every status, zeros included
    assert stats.no_show_rate is None
    # 01:00 on the 8th to 01:00 on the 9th in Madrid touches two calendar days.
    assert [d.day for d in stats.appointments_by_day] == [date(2030, 1, 8), date(2030, 1, 9)]


async def test_an_empty_clinic_answers_zeros_and_no_rate(get_stats: GetClinicStats) -> None:
    stats = await get_stats(Actor(Role.ADMIN, uuid7()))

    assert stats.appointments_total == 0 and stats.no_show_rate is None
    assert stats.appointments_by_doctor == () and stats.doctors_by_specialty == ()
    assert set(stats.patients_by_sex.values()) == {0}
    assert set(stats.patients_by_age_band.values()) == {0}
    assert len(stats.appointments_by_day) == 61


async def test_window_bounds_with_offsets_are_taken_as_instants(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    madrid = datetime.fromisoformat("2030-01-08T00:00:00+01:00")
    stats = await get_stats(admin(world), madrid, madrid + timedelta(days=1))

    assert stats.window_start == utc("2030-01-07T23:00")
    assert stats.appointments_total == 2  # the 23:30 UTC visit and the 09:00 one
    assert [d.day for d in stats.appointments_by_day] == [date(2030, 1, 8)]


async def test_a_missing_bound_takes_its_default(
    world: StatsWorld, get_stats: GetClinicStats
) -> None:
    stats = await get_stats(admin(world), utc("2030-01-01T00:00"))

    assert (stats.window_start, stats.window_end) == (utc("2030-01-01T00:00"), WINDOW_END)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2030, 1, 1), None, "from"),  # naive: its meaning would be a guess
        (None, datetime(2030, 1, 1), "to"),
        (utc("2030-01-02T00:00"), utc("2030-01-02T00:00"), "to"),  # empty
        (utc("2030-01-02T00:00"), utc("2030-01-01T00:00"), "to"),  # backwards
        (utc("2030-01-01T00:00"), utc("2031-01-02T00:01"), "to"),  # over 366 days
        (utc("2030-03-01T00:00"), None, "to"),  # after the default end
        (datetime.fromisoformat("0001-01-01T00:00+01:00"), None, "from"),  # no UTC for it
        (utc("1969-12-31T23:59"), utc("1970-01-02T00:00"), "from"),  # before 1970
        (None, utc("9000-01-01T00:00"), "to"),
    ],
)
async def test_bad_windows_are_refused_naming_the_field(
    world: StatsWorld,
    get_stats: GetClinicStats,
    start: datetime | None,
    end: datetime | None,
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await get_stats(admin(world), start, end)
    assert refused.value.field == field


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.SYSTEM])
async def test_only_admins_see_statistics(
    world: StatsWorld, get_stats: GetClinicStats, role: Role
) -> None:
    actor = Actor(role, None if role is Role.SYSTEM else world.patients["p1"].id)
    with pytest.raises(PermissionDenied):
        await get_stats(actor)


def test_a_policy_with_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidInput):
        StatsPolicy(timezone="Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("born", "today", "band"),
    [
        (date(2012, 2, 29), date(2030, 2, 28), AgeBand.UNDER_18),  # birthday not yet
        (date(2012, 2, 29), date(2030, 3, 1), AgeBand.FROM_18_TO_39),  # 1 March it is
        (date(2012, 2, 28), date(2030, 2, 28), AgeBand.FROM_18_TO_39),
        (date(1975, 3, 1), date(2040, 2, 29), AgeBand.FROM_40_TO_64),  # 65 tomorrow
        (date(1975, 2, 28), date(2040, 2, 29), AgeBand.FROM_65),
        (date(1990, 1, 1), date(2030, 1, 1), AgeBand.FROM_40_TO_64),  # 40 today
        (date(2031, 1, 1), date(2030, 1, 1), AgeBand.UNDER_18),  # not born yet
        (None, date(2030, 1, 1), AgeBand.UNKNOWN),
    ],
)
def test_age_bands_on_birthdays_and_29_february(
    born: date | None, today: date, band: AgeBand
) -> None:
    assert age_band(born, today) is band


def test_birth_date_cutoff_of_a_29_february_in_a_common_year() -> None:
    assert born_on_or_before(date(2032, 2, 29), 18) == date(2014, 2, 28)
    assert born_on_or_before(date(2032, 2, 29), 16) == date(2016, 2, 29)


# ------------------------------------------------------------------ audit trail


@pytest.fixture
def list_audit(uow_factory: InMemoryUnitOfWorkFactory) -> ListAuditEntries:
    return ListAuditEntries(uow_factory)


async def add_entries(uow_factory: InMemoryUnitOfWorkFactory, *entries: AuditEntry) -> None:
    async with uow_factory() as uow:
        for entry in entries:
            await uow.audit.add(entry)
        await uow.commit()


async def test_admin_actions_of_the_identity_use_cases_are_in_the_trail(
    world: StatsWorld,
    uow_factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
    list_audit: ListAuditEntries,
) -> None:
    create = CreateAccount(uow_factory, clock, FakePasswordHasher(), IdentityPolicy())
    set_active = SetUserActive(
        uow_factory,
        clock,
        InMemoryRefreshTokenStore(),
        InMemoryUserAccessCache(clock, timedelta(seconds=5)),
    )
    doctor = await create(
        admin(world), NewAccount(email="new.doc@example.org", full_name="New Doc", role=Role.DOCTOR)
    )
    clock.advance(minutes=1)
    await set_active(admin(world), doctor.id, False)

    trail = await list_audit(admin(world), AuditQuery(target_id=str(doctor.id)))

    assert [(e.action, e.actor_id, e.target_type) for e in trail.entries.items] == [
        ("user.deactivated", world.admin.id, "user"),
        ("user.created", world.admin.id, "user"),
    ]
    assert trail.entries.items[1].details == {"role": "doctor", "via": "admin"}
    assert trail.actor_names == {world.admin.id: "Stats Admin"}


async def test_filters_combine_and_pages_count_everything_that_matches(
    world: StatsWorld, uow_factory: InMemoryUnitOfWorkFactory, list_audit: ListAuditEntries
) -> None:
    doctor = world.doctors["alice"].actor
    target = "appointment-1"
    await add_entries(
        uow_factory,
        AuditEntry.of(doctor, NOW, "appointment.approved", "appointment", target),
        AuditEntry.of(
            admin(world), NOW + timedelta(minutes=1), "appointment.cancelled", "appointment", target
        ),
        AuditEntry.of(
            doctor, NOW + timedelta(minutes=2), "appointment.approved", "appointment", "other"
        ),
        AuditEntry.of(
            Actor.system(), NOW + timedelta(minutes=3), "appointment.no_show", "appointment", target
        ),
    )

    everything = await list_audit(admin(world), AuditQuery())
    by_target = await list_audit(admin(world), AuditQuery(target_id=target))
    by_actor_and_action = await list_audit(
        admin(world), AuditQuery(actor_id=doctor.user_id, action="appointment.approved")
    )
    in_window = await list_audit(
        admin(world),
        AuditQuery(at_from=NOW + timedelta(minutes=1), at_before=NOW + timedelta(minutes=3)),
    )
    second_page = await list_audit(admin(world), AuditQuery(page=PageRequest(limit=2, offset=2)))

    assert [e.action for e in everything.entries.items] == [
        "appointment.no_show",
        "appointment.approved",
        "appointment.cancelled",
        "appointment.approved",
    ]
    assert [e.action for e in by_target.entries.items] == [
        "appointment.no_show",
        "appointment.cancelled",
        "appointment.approved",
    ]
    assert [e.target_id for e in by_actor_and_action.entries.items] == ["other", target]
    assert [e.at for e in in_window.entries.items] == [
        NOW + timedelta(minutes=2),
        NOW + timedelta(minutes=1),
    ]
    assert second_page.entries.total == 4
    assert [e.action for e in second_page.entries.items] == [
        "appointment.cancelled",
        "appointment.approved",
    ]
    assert everything.actor_names == {
        world.admin.id: "Stats Admin",
        doctor.user_id: "Alice Heart",
    }  # the system has no name


async def test_audit_window_bounds_must_carry_an_offset_and_be_ordered(
    world: StatsWorld, list_audit: ListAuditEntries
) -> None:
    with pytest.raises(InvalidInput) as naive:
        await list_audit(admin(world), AuditQuery(at_from=datetime(2030, 1, 1)))
    with pytest.raises(InvalidInput) as backwards:
        await list_audit(admin(world), AuditQuery(at_from=NOW, at_before=NOW))
    assert (naive.value.field, backwards.value.field) == ("from", "to")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (AuditQuery(target_id="a\x00b"), "target_id"),
        (AuditQuery(action="appointment.\napproved"), "action"),
        (AuditQuery(at_before=datetime.fromisoformat("0001-01-01T00:00+01:00")), "to"),
    ],
)
async def test_filters_that_no_store_could_answer_are_refused(
    world: StatsWorld, list_audit: ListAuditEntries, query: AuditQuery, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await list_audit(admin(world), query)
    assert refused.value.field == field


@pytest.mark.parametrize("key", ["p1", "alice"])
async def test_only_admins_read_the_audit_trail(
    world: StatsWorld, list_audit: ListAuditEntries, key: str
) -> None:
    user = world.patients.get(key) or world.doctors[key]
    with pytest.raises(PermissionDenied):
        await list_audit(user.actor, AuditQuery())
