"""API conformance run: Schemathesis, every check, against a real server with demo data.

Creates a throwaway PostgreSQL database, seeds the demo clinic (``hduce seed-demo``),
starts ``hduce serve`` on it (and Redis), then, for each role (an admin, a doctor and
a patient of the demo data), runs ``schemathesis run`` over ``/schema/openapi.json``
with ``--checks all`` and every phase (examples, coverage, fuzzing, stateful). Path
parameters are the ids of real demo records the role can see, so generated requests
reach the use cases instead of stopping at 404. Each role signs in once, before any
fuzzing (the fuzzed ``POST /auth/login`` soon meets the per-client rate limit, 429),
and its token is sent as ``Authorization: Bearer``. ``POST /auth/logout`` would end
that session (and ``DELETE /auth/sessions`` the role's others), so they have a pass of
their own at the end, with a session of its own.
Redis is a database index of its own (15 unless ``--redis-url`` names one), whose
rate-limit counters are cleared first, so runs do not throttle each other or other
users of the server. Prints, per pass, the operations tested, the test cases
generated and the failures found by check; exits 1 if there was any.

    make fuzz                                   # or:
    uv run python bench/schemathesis_run.py --max-examples 50 --roles admin,patient

``tests/e2e/test_openapi_fuzz.py`` runs a bounded version of the same in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import redis
from sqlalchemy.engine import make_url

if __package__:  # imported as ``bench.schemathesis_run`` (tests/e2e/test_openapi_fuzz.py)
    from bench.hbench.system import wait_http_ok
else:  # run as a script: bench/ is on sys.path
    from hbench.system import wait_http_ok

DEMO_PASSWORD: Final = "fuzz-demo-password-2030"  # noqa: S105 - the throwaway demo's
#: The demo accounts each role signs in as (``hduce seed-demo``).
ACCOUNTS: Final = {
    "admin": "admin@demo.hduce.local",
    "doctor": "lucia.romero@demo.hduce.local",
    "patient": "ana.garcia@demo.hduce.local",
}
#: The account the admin's ``PATCH /admin/users/{user_id}`` may deactivate: nobody
#: else's run signs in as it.
SPARE_ACCOUNT: Final = "sam.taylor@demo.hduce.local"
PHASES: Final = "examples,coverage,fuzzing,stateful"
LOGOUT: Final = "/api/v1/auth/logout"
#: ``DELETE /auth/sessions`` ends the role's other sessions, the logout pass's among
#: them (the patient's): it runs in that pass, with logout, not in the roles' passes.
END_OTHER_SESSIONS: Final = "/api/v1/auth/sessions"
SESSION_ENDING: Final = (LOGOUT, END_OTHER_SESSIONS)
#: The database index of the Redis server the runs use (see the module docstring).
REDIS_DATABASE: Final = 15
#: Beyond Schemathesis's defaults for ``positive_data_acceptance`` (2xx, 3xx, 401, 403,
#: 404, 409, 429): a schema-valid request may also fail on the record's state, which no
#: schema can know: 412 (an ``If-Match`` naming an older version) and 422 (a transition
#: the appointment's status does not allow, hours for another timezone than the
#: doctor's). 400 is not among them: a 400 to a schema-valid request is a disagreement.
POSITIVE_STATUSES: Final = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]
#: Operations with rules no JSON Schema can state (between fields, against stored
#: data, the tz database): a schema-valid request may break them, and gets a 400
#: ``invalid-input`` naming the field. For these operations (only), such a 400 counts
#: as accepted by ``positive_data_acceptance``; every other check still applies.
RULES_BEYOND_THE_SCHEMA: Final = {
    ("GET", "/api/v1/admin/audit"): "'to' after 'from'",
    ("POST", "/api/v1/admin/service-clients"): "a name that is not blank",
    ("GET", "/api/v1/admin/stats"): "'to' after 'from', a window of at most 366 days",
    ("GET", "/api/v1/doctors/{doctor_id}/slots"): "'to' after 'from', at most 31 days",
    ("POST", "/api/v1/appointments"): "patient_id when a doctor or an admin books; "
    "ends_at after starts_at",
    ("POST", "/api/v1/appointments/{appointment_id}/reschedule"): "ends_at after starts_at",
    ("POST", "/api/v1/appointments/series"): "the RRULE subset (FREQ=DAILY|WEEKLY, "
    "INTERVAL, COUNT or UNTIL, BYDAY); patient_id when a doctor or an admin books; "
    "ends_at after starts_at",
    ("POST", "/api/v1/appointments/series/preview"): "the RRULE subset (FREQ=DAILY|WEEKLY, "
    "INTERVAL, COUNT or UNTIL, BYDAY); patient_id when a doctor or an admin books; "
    "ends_at after starts_at",
    ("POST", "/api/v1/auth/register"): "an IANA timezone; the email address syntax; "
    "the password policy (length after normalisation, not a common password)",
    ("PATCH", "/api/v1/auth/me"): "an IANA timezone; a name that is not blank",
    ("POST", "/api/v1/auth/password"): "the current password (re-authentication); the "
    "password policy; a new password that differs from the current one",
    ("POST", "/api/v1/auth/2fa/confirm"): "the code the new authenticator shows now",
    ("DELETE", "/api/v1/auth/2fa"): "exactly one of code and recovery_code; a current "
    "code or an unused recovery code",
    ("POST", "/api/v1/auth/2fa/verify"): "exactly one of code and recovery_code",
    ("POST", "/api/v1/doctors"): "an existing specialty; an IANA timezone; the email "
    "address syntax and the password policy",
    ("PATCH", "/api/v1/doctors/{doctor_id}"): "an existing specialty; an IANA timezone",
    ("POST", "/api/v1/doctors/{doctor_id}/extra-hours"): "each interval starts before it ends",
    ("POST", "/api/v1/doctors/{doctor_id}/time-off"): "ends_at after starts_at",
    ("PUT", "/api/v1/doctors/{doctor_id}/working-hours"): "intervals start before they "
    "end and do not overlap; the doctor's IANA timezone",
    ("POST", "/api/v1/specialties"): "a name that is not blank",
    ("PATCH", "/api/v1/specialties/{specialty_id}"): "a name that is not blank",
}


@dataclass
class RoleResult:
    role: str
    operations: int
    generated: int
    #: Failure title (and Schemathesis code) -> unique failures found.
    failures: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.errors == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found (run `uv sync`)")
    return found


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _execute(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A new database on ``admin_url``'s server (its ``HDUCE_DATABASE_URL``); dropped after."""
    name = f"hduce_fuzz_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(admin_url)
            .set(drivername="postgresql", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def served(env: Mapping[str, str], workdir: Path, timeout: float = 90.0) -> Iterator[str]:
    """``hduce serve`` on a free port; yields its base URL once /health answers."""
    port = _free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_tool("hduce"), "serve"],
            cwd=workdir,
            env={**env, "HDUCE_HTTP_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http_ok(f"{base_url}/health", timeout, process)
        except (RuntimeError, TimeoutError) as error:  # exited early, or never healthy
            raise RuntimeError(f"hduce serve: {error}:\n{log_path.read_text()}") from error
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_id(client: httpx.Client, path: str) -> str | None:
    answer = client.get(path)
    answer.raise_for_status()
    body = answer.json()
    items = body["items"] if isinstance(body, dict) else body
    return str(items[0]["id"]) if items else None


def sign_in(base_url: str, email: str) -> str:
    login = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
    )
    login.raise_for_status()
    token: str = login.json()["access_token"]
    return token


def _client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base_url}/api/v1", headers={"Authorization": f"Bearer {token}"})


def demo_ids(base_url: str, tokens: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Per role, the path parameters of its run: ids of demo records it can see (an
    admin has no notifications of its own: it gets the patient's, and a 404)."""
    with _client(base_url, tokens["admin"]) as admin:
        users = admin.get("/admin/users", params={"limit": 100}).json()["items"]
    by_email = {user["email"]: user["id"] for user in users}
    # The demo's notifications are made by the server's consumers once it started.
    deadline = time.monotonic() + 60
    with _client(base_url, tokens["patient"]) as patient:
        while (notification := _first_id(patient, "/notifications")) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo patient got no notification within 60 s")
            time.sleep(0.5)
    ids = {}
    for role, token in tokens.items():
        with _client(base_url, token) as client:
            appointment = _first_id(client, "/appointments")
            if appointment is None:
                raise RuntimeError(f"the demo data has no appointment {role} can see")
            ids[role] = {
                "doctor_id": by_email[ACCOUNTS["doctor"]],
                "patient_id": by_email[ACCOUNTS["patient"]],
                "user_id": by_email[SPARE_ACCOUNT],
                "specialty_id": _first_id(client, "/specialties") or "",
                "appointment_id": appointment,
                "appointment_ref": appointment,
                "notification_id": _first_id(client, "/notifications") or notification,
            }
    return ids


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def write_config(path: Path, base_url: str, token: str, ids: Mapping[str, str]) -> None:
    lines = [
        f"base-url = {_toml_string(base_url)}",
        "",
        "[auth.openapi.bearerAuth]",
        f"bearer = {_toml_string(token)}",
        "",
        "[parameters]",
        *(f'"path.{name}" = {_toml_string(value)}' for name, value in sorted(ids.items())),
        "",
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {json.dumps(POSITIVE_STATUSES)}",
        "",
    ]
    for (method, operation_path), rule in RULES_BEYOND_THE_SCHEMA.items():
        lines += [
            f"# {rule}",
            "[[operations]]",
            f"include-path = {_toml_string(operation_path)}",
            f"include-method = {_toml_string(method)}",
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {json.dumps([*POSITIVE_STATUSES, '400'])}",
            "",
        ]
    path.write_text("\n".join(lines))


def run_pass(
    base_url: str,
    name: str,
    token: str,
    ids: Mapping[str, str],
    workdir: Path,
    *,
    max_examples: int,
    seed: int,
    phases: str = PHASES,
    extra_args: tuple[str, ...] = (),
) -> RoleResult:
    """One ``schemathesis run`` signed in with ``token``; ``name`` labels its files."""
    config = workdir / f"schemathesis-{name}.toml"
    write_config(config, base_url, token, ids)
    report = workdir / f"schemathesis-{name}.json"
    command = [
        _tool("schemathesis"),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/schema/openapi.json",
        "--checks",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *extra_args,
    ]
    output = workdir / f"schemathesis-{name}.out"
    with output.open("wb") as out:
        subprocess.run(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, check=False)
    if not report.exists():
        raise RuntimeError(f"schemathesis wrote no report:\n{output.read_text()[-4000:]}")
    return summarize(name, json.loads(report.read_text()), report)


def summarize(role: str, report: Mapping[str, Any], path: Path | None = None) -> RoleResult:
    return RoleResult(
        role=role,
        operations=int(report["operations"]["tested"]),
        generated=int(report["test_cases"]["generated"]),
        failures={
            f"{failure['title']} ({failure['code']})": int(failure["count"])
            for failure in report["failures"]
        },
        errors=len(report.get("errors") or ()),
        report=path,
    )


def fuzz_redis_url(url: str, database: int = REDIS_DATABASE) -> str:
    """The Redis server of ``url``, database ``database``."""
    return str(httpx.URL(url).copy_with(path=f"/{database}"))


def clear_rate_limits(redis_url: str) -> None:
    """Forget the rate-limit counters of earlier runs (``hduce:rate:*``) on that database."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match="hduce:rate:*", count=500):
            client.delete(key)
    finally:
        client.close()


def run(
    *,
    postgres_url: str,
    redis_url: str,
    roles: tuple[str, ...] = tuple(ACCOUNTS),
    max_examples: int = 50,
    seed: int = 1,
    phases: str = PHASES,
    workdir: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> list[RoleResult]:
    """Seed, serve and run every role, then the logout pass; their results in that order."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="hduce-fuzz-"))
    with throwaway_database(postgres_url) as database_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HDUCE_")},
            "HDUCE_DATABASE_URL": database_url,
            "HDUCE_REDIS_URL": redis_url,
            "HDUCE_JWT_SECRET": secrets.token_hex(32),
            "HDUCE_LOG_FORMAT": "json",
            # The sessions are made once and must outlast every pass.
            "HDUCE_ACCESS_TOKEN_TTL": "24h",
        }
        clear_rate_limits(redis_url)
        subprocess.run(
            [_tool("hduce"), "seed-demo", "--password", DEMO_PASSWORD],
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with served(env, workdir) as base_url:
            # Every session starts before the fuzzed logins meet the rate limit.
            tokens = {role: sign_in(base_url, ACCOUNTS[role]) for role in ACCOUNTS}
            logout_token = sign_in(base_url, ACCOUNTS["patient"])
            ids = demo_ids(base_url, tokens)
            excluded = tuple(arg for path in SESSION_ENDING for arg in ("--exclude-path", path))
            included = tuple(arg for path in SESSION_ENDING for arg in ("--include-path", path))
            passes = [(role, tokens[role], ids[role], excluded) for role in roles]
            passes.append(("logout", logout_token, ids["patient"], included))
            return [
                run_pass(
                    base_url,
                    name,
                    token,
                    pass_ids,
                    workdir,
                    max_examples=max_examples,
                    seed=seed,
                    phases=phases,
                    extra_args=(*selection, *extra_args),
                )
                for name, token, pass_ids, selection in passes
            ]


def render(results: list[RoleResult]) -> str:
    lines = [f"{'pass':<8} {'operations':>10} {'cases':>7}  failures by check"]
    for result in results:
        found = ", ".join(f"{name}: {count}" for name, count in result.failures.items())
        if result.errors:
            found = f"{found}, errors: {result.errors}" if found else f"errors: {result.errors}"
        lines.append(
            f"{result.role:<8} {result.operations:>10} {result.generated:>7}  {found or 'none'}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "HDUCE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL of the PostgreSQL server (a throwaway database is made there)",
    )
    parser.add_argument(
        "--redis-url",
        help=f"default: database {REDIS_DATABASE} of $HDUCE_TEST_REDIS_URL's server "
        "(else of 127.0.0.1:6379)",
    )
    parser.add_argument("--roles", default=",".join(ACCOUNTS), help="comma-separated")
    parser.add_argument("--max-examples", type=int, default=50, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default=PHASES, help=f"comma-separated (default {PHASES})")
    parser.add_argument(
        "--workdir", type=Path, help="configs, reports and logs (default: a temp dir)"
    )
    options = parser.parse_args()
    roles = tuple(role.strip() for role in options.roles.split(",") if role.strip())
    unknown = set(roles) - set(ACCOUNTS)
    if unknown:
        parser.error(f"unknown roles {sorted(unknown)}; known: {sorted(ACCOUNTS)}")
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="hduce-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = run(
        postgres_url=options.postgres_url,
        redis_url=options.redis_url
        or fuzz_redis_url(os.environ.get("HDUCE_TEST_REDIS_URL", "redis://127.0.0.1:6379")),
        roles=roles,
        max_examples=options.max_examples,
        seed=options.seed,
        phases=options.phases,
        workdir=workdir,
    )
    print(render(results))
    print(f"({time.monotonic() - started:.0f} s; reports and server log in {workdir})")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
