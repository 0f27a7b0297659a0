"""Schemathesis over the served OpenAPI document, as ``make fuzz`` runs it
(``bench/schemathesis_run.py``): a server on PostgreSQL and Redis with the demo clinic,
every check (``--checks all``), every phase including the stateful one, signed in as
the admin, a doctor and a patient of the demo data, path parameters set to ids of
real demo records.

Bounded for CI: a few examples per operation, and the coverage phase (boundary values
of every parameter: minutes per role on a loaded machine) is left to ``make fuzz``.
The assertion is that no check finds anything: no 5xx, every answer documented and
matching its schema, schema-violating requests refused, schema-valid ones not refused
with a 400 (``RULES_BEYOND_THE_SCHEMA`` aside), no ignored method or authentication.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench import schemathesis_run as conformance

from tests.e2e.server import clean_environment, run_command, running_server

MAX_EXAMPLES = 3
PHASES = "examples,fuzzing,stateful"
#: The whole run (three roles and the logout pass) must stay within CI's budget.
BUDGET_SECONDS = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("fuzz-doc")
    env = clean_environment(
        HDUCE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'hduce.sqlite3'}",
        HDUCE_JWT_SECRET="fuzzing-secret-0123456789abcdefghijklmnop",
    )
    run_command(["seed-demo", "--password", conformance.DEMO_PASSWORD], env, workdir)
    with running_server(workdir, env) as base_url:
        yield base_url


def test_every_check_passes_for_every_role_on_postgresql(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    results = conformance.run(
        postgres_url=postgres_url,
        # Not make fuzz's database: a run of each at once must not share the login
        # rate limit of 127.0.0.1.
        redis_url=conformance.fuzz_redis_url(redis_url, database=14),
        max_examples=MAX_EXAMPLES,
        phases=PHASES,
        workdir=tmp_path,
    )
    elapsed = time.monotonic() - started
    print(conformance.render(results))
    assert [result.role for result in results] == ["admin", "doctor", "patient", "logout"]
    for result in results[:3]:
        assert result.operations > 40, result
        assert result.generated > 100, result
    failing = {r.role: (r.failures, r.errors) for r in results if not r.ok}
    logs = {
        r.role: r.report.with_suffix(".out").read_text()[-6000:]
        for r in results
        if not r.ok and r.report
    }
    assert failing == {}, "\n\n".join(logs.values())
    assert elapsed < BUDGET_SECONDS


def test_the_served_document_is_openapi_3_1(served: str) -> None:
    base_url = served
    document = httpx.get(f"{base_url}/schema/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 20
    undocumented = [
        f"{method.upper()} {path}"
        for path, method, operation in operations
        if not operation.get("summary") or not operation.get("tags")
    ]
    assert undocumented == []
