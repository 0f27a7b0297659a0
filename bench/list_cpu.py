"""CPU per "list my appointments" in process: the use case and the answer's JSON.

A throwaway PostgreSQL database (or ``--sqlite``) with one patient's 25 appointments
of three history lines each (booked, approved, checked in: a page of 20 carries 60),
then ``--calls`` pages of 20 per way, alternated ``--rounds`` times in one process on
the same database, each way measured as ``time.process_time()`` per call:

- ``domain``: ``ListAppointments`` (rows -> domain ``Appointment``s), then
  ``AppointmentPage.of`` and the JSON encoding, as ``GET /appointments`` did before
  the read model;
- ``read``: ``ListAppointmentViews`` (rows -> ``AppointmentListing`` items), then the
  answer as ``GET /appointments`` now encodes it.

Both ways' answers are compared byte for byte first. Run it under ``py-spy record``
with ``--only read`` (or ``domain``) for a profile of one way.

    uv run python bench/list_cpu.py [--admin-url URL] [--sqlite] [--calls 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from hduce.adapters.sql import SqlUnitOfWorkFactory, create_engine, upgrade_database
from hduce.application.appointments.queries import ListAppointments
from hduce.application.ports import AppointmentQuery, PageRequest
from hduce.domain.identity import Actor, Role
from hduce.entrypoints.http.appointments.schemas import AppointmentPage
from tests.unit.adapters.contract import NOW, POLICY, book, seed_clinic, slot

try:  # the read model (absent on commits before it)
    from hduce.application.appointments.queries import ListAppointmentViews
    from hduce.entrypoints.http.appointments.schemas import encode_listed_page as encode_page
except ImportError:  # pragma: no cover
    ListAppointmentViews = None  # type: ignore[assignment,misc]

import msgspec

ADMIN_URL = os.environ.get(
    "HDUCE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _seed(uow_factory: SqlUnitOfWorkFactory) -> Actor:
    clinic = await seed_clinic(uow_factory)
    appointments = []
    for n in range(25):
        appointment = book(clinic, slot(0, days=n))
        appointment.approve(actor=clinic.admin_actor, now=NOW, existing=())
        appointment.check_in(
            actor=clinic.admin_actor,
            now=appointment.slot.start - timedelta(minutes=5),
            policy=POLICY,
        )
        appointments.append(appointment)
    async with uow_factory() as uow:
        for appointment in appointments:
            await uow.appointments.add(appointment)
        await uow.commit()
    return Actor(Role.PATIENT, clinic.patient.id)


async def _measure(call: Callable[[], Awaitable[bytes]], calls: int) -> tuple[float, float]:
    """CPU milliseconds per call: (user + system, system)."""
    for _ in range(20):
        await call()
    start, system = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
    for _ in range(calls):
        await call()
    system = resource.getrusage(resource.RUSAGE_SELF).ru_stime - system
    return (time.process_time() - start) * 1000 / calls, system * 1000 / calls


async def _run(url: str, args: argparse.Namespace) -> None:
    await upgrade_database(url)
    engine = create_engine(url, pool_size=2)
    try:
        uow_factory = SqlUnitOfWorkFactory(engine)
        actor = await _seed(uow_factory)
        query = AppointmentQuery(page=PageRequest(limit=20, offset=0))
        by_domain = ListAppointments(uow_factory)

        async def domain() -> bytes:
            page = await by_domain(actor, query)
            return msgspec.json.encode(AppointmentPage.of(page, None))

        ways: dict[str, Callable[[], Awaitable[bytes]]] = {"domain": domain}
        if ListAppointmentViews is not None:
            by_views = ListAppointmentViews(uow_factory)

            async def read() -> bytes:
                return encode_page(await by_views(actor, query), None)

            ways["read"] = read
            assert await read() == await domain(), "the two answers differ"
            print("answers identical:", len(await read()), "bytes")
        if args.only:
            ways = {args.only: ways[args.only]}
        figures: dict[str, list[float]] = {name: [] for name in ways}
        system: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, call in ways.items():
                total, kernel = await _measure(call, args.calls)
                figures[name].append(total)
                system[name].append(kernel)
        for name, values in figures.items():
            shown = ", ".join(f"{v:.3f}" for v in values)
            print(
                f"{name}: CPU ms per call {shown} (median {statistics.median(values):.3f}; "
                f"of which system {statistics.median(system[name]):.3f})"
            )
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    if args.sqlite:
        with tempfile.TemporaryDirectory() as work:
            await _run(f"sqlite+aiosqlite:///{work}/list.db", args)
        return
    name = f"hduce_listcpu_{uuid.uuid4().hex[:8]}"
    plain = args.admin_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await _run(args.admin_url.rsplit("/", 1)[0] + f"/{name}", args)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("domain", "read"))
    asyncio.run(main(parser.parse_args()))
