"""The results as Markdown: printed at the end of a run and written to bench/results/."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from hbench.ceiling import PgbenchResult
from hbench.load import LoadResult
from hbench.scenarios import Results


def _f(value: float | None, digits: int = 1, suffix: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}{suffix}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _cpu(result: LoadResult) -> str:
    parts = [
        f"{group} {_f(result.cpu_ms_per_ok(group), 2)}"
        for group in result.cpu
        if group != "postgres"
    ]
    return " + ".join(parts) or "n/a"


def _busy(result: LoadResult | PgbenchResult) -> str:
    if result.machine_busy is None:
        return "n/a"
    return (
        f"{result.machine_busy:.0%} ({result.machine_busy * result.cores:.2f} "
        f"of {result.cores} cores)"
    )


def _ceilings(results: Results, name: str, versus: int) -> list[PgbenchResult]:
    """The runs of ``name`` read beside /health at ``versus``."""
    return [r for r in results.pgbench if r.name == name and (r.versus or r.connections) == versus]


def _c(result: PgbenchResult) -> str:
    if result.versus is None:
        return str(result.connections)
    return f"{result.connections} (the app's pool at most; vs /health c{result.versus})"


def _share(rate: float | None, health: LoadResult | None) -> float | None:
    return rate / health.rate if rate is not None and health and health.rate else None


def pgbench_table(results: Results) -> list[str]:
    rows = []
    for result in results.pgbench:
        health = results.load("/health", result.versus or result.connections)
        share = _share(result.tps, health)
        rows.append(
            [
                result.name,
                _c(result),
                _f(result.tps),
                _f(health.rate) if health else "n/a",
                _f(share * 100 if share is not None else None, 1, " %"),
                _f(result.latency_ms["50"], 2),
                _f(result.latency_ms["99"], 2),
                f"{result.transactions:,} ({result.failed} failed"
                + (f", {result.booked:,} booked)" if result.booked is not None else ")"),
                _f(result.cpu_ms_per_tx("postgres"), 3),
                _f(result.cpu_ms_per_tx("pgbench"), 3),
                _busy(result),
            ]
        )
    return _table(
        [
            "PostgreSQL alone",
            "c",
            "transactions/s",
            "/health/s (same run, same c)",
            "vs /health",
            "p50 ms",
            "p99 ms",
            "transactions",
            "PostgreSQL CPU ms/tx",
            "pgbench CPU ms/tx",
            "machine CPU busy",
        ],
        rows,
    )


def figures_table(results: Results) -> list[str]:
    rows = []
    for result in results.loads:
        health = results.load("/health", result.connections)
        ratio = result.rate / health.rate if health and health.rate else None
        rows.append(
            [
                result.name,
                result.connections,
                _f(result.rate),
                _f(health.rate) if health else "n/a",
                _f(ratio * 100 if ratio is not None else None, 1, " %"),
                _f(result.latency_ms["50"]),
                _f(result.latency_ms["99"]),
                f"{result.ok_share:.1%} {result.expect}",
                result.others() or "-",
                _cpu(result),
                _f(result.cpu_ms_per_ok("postgres"), 2),
                _busy(result),
            ]
        )
    return _table(
        [
            "scenario",
            "c",
            "answers/s",
            "/health/s (same run, same c)",
            "vs /health",
            "p50 ms",
            "p99 ms",
            "success",
            "other answers",
            "Python CPU ms/answer",
            "PostgreSQL CPU ms/answer",
            "machine CPU busy",
        ],
        rows,
    )


def _largest(rss: list[tuple[str, float]] | None) -> float | None:
    return max((mb for _, mb in rss), default=None) if rss else None


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "missed")


def targets_table(results: Results) -> list[str]:
    rows: list[list[str]] = []
    booking = max(
        (r for r in results.loads if r.name == "booking"), key=lambda r: r.connections, default=None
    )
    if booking is not None:
        health = results.load("/health", booking.connections)
        ratio = booking.rate / health.rate if health and health.rate else None
        rows.append(
            [
                f"booking c{booking.connections}: share of /health",
                ">= 25 %",
                _f(ratio * 100 if ratio is not None else None, 1, " %"),
                _mark(ratio >= 0.25 if ratio is not None else None),
            ]
        )
        rows += _ceiling_row(results, "booking transaction", booking.connections, 0.25)
        rows += _budget_rows(results, booking, 0.25, "booking transaction")
        p99 = booking.latency_ms["99"]
        rows.append(["booking: p99", "< 100 ms", _f(p99, 1, " ms"), _mark(p99 < 100)])
        # Little's law: with c requests always in flight, the mean latency is c / rate,
        # so a p99 under 100 ms needs at least c / 0.1 s answers per second.
        needed = booking.connections / 0.1
        rows.append(
            [
                f"  budget: a p99 < 100 ms with {booking.connections} bookings in flight "
                f"needs >= {needed:,.0f} bookings/s (Little's law: mean latency = "
                "in flight / rate)",
                "-",
                f"{booking.rate:,.1f}/s measured: {needed / booking.rate:.1f}x short"
                if booking.rate
                else "-",
                "follows the rate",
            ]
        )
        rows.append(
            ["booking: success", "100 %", f"{booking.ok_share:.2%}", _mark(booking.ok_share == 1)]
        )
        server_cpu = booking.cpu_ms_per_ok("server")
        rows.append(
            [
                "booking: CPU per booking, hduce serve (API + in-process worker)",
                "API <= 1.5 ms",
                _f(server_cpu, 2, " ms"),
                "see split row",
            ]
        )
        sustained = _sustained_cpu(results, f"booking c{booking.connections}")
        if sustained != "-":
            rows.append(
                [
                    "  with the in-process worker's catch-up after the run (relay, "
                    "notifications, e-mails): what a sustained load costs",
                    "-",
                    sustained,
                    "see bench/README.md",
                ]
            )
    split = results.workers.get("split") if results.workers else None
    if split is not None:
        api_cpu = split.cpu_ms_per_ok("api")
        rows.append(
            [
                "booking: API CPU per booking (api x2 + worker run)",
                "<= 1.5 ms",
                _f(api_cpu, 2, " ms"),
                _mark(api_cpu <= 1.5 if api_cpu is not None else None),
            ]
        )
    sql = results.sql.get("booking")
    if sql is not None:
        api = sql["api"]
        # The outbox wake-up of a process without a relay (``hduce api``): one
        # ``SELECT pg_notify`` after the commit, on a connection of its own, coalesced
        # under load (one here, where the bookings come one at a time); not part of
        # the booking's transaction (ADR 0009).
        wake_ups = sum(n for text, n in api["by_text"] if text.startswith("SELECT pg_notify"))
        booking_statements = api["statements"] - wake_ups
        # The mark reads the median of the bookings' own counts: the mean (less the idle
        # traffic, an estimate) can carry a stray fraction of a periodic job's statements.
        median = sql.get("api_median")
        statements, transactions = (
            (median["statements"], median["transactions"])
            if median is not None
            else (booking_statements, api["transactions"])
        )
        ok = statements <= 6 and transactions <= 1
        rows.append(
            [
                "booking: SQL statements / transactions per booking (API)",
                "<= 6 in 1",
                (
                    f"{statements:g} in {transactions:g} (median of {sql['samples']} bookings; "
                    f"mean less idle traffic {booking_statements:.2f} in {api['transactions']:.2f})"
                    if median is not None
                    else f"{booking_statements:.1f} in {api['transactions']:.1f}"
                )
                + (f" (+ {wake_ups:.1f} wake-up NOTIFY after it)" if wake_ups else ""),
                _mark(ok),
            ]
        )
    if results.workers.get("ratio") is not None:
        ratio = results.workers["ratio"]
        rows.append(
            [
                "booking: api --workers 2 + worker vs serve",
                ">= 1.7x",
                f"{ratio:.2f}x",
                _mark(ratio >= 1.7),
            ]
        )
    serve_booking = results.load("booking", 64)
    if serve_booking is not None and serve_booking.machine_busy:
        busy = serve_booking.machine_busy
        most = 1 / busy
        measured = results.workers.get("ratio")
        cores = serve_booking.cores
        # The bench's own stack: the server's tree and the database's backends (wrk not
        # counted): the ceiling if nothing else ran on the machine.
        own = (
            serve_booking.cpu.get("server", 0.0) + serve_booking.cpu.get("postgres", 0.0)
        ) / serve_booking.seconds
        rows.append(
            [
                "booking: api --workers 2 + worker vs serve, ceiling = all cores / cores busy "
                "during serve's booking c64",
                ">= 1.7x reachable?",
                f"{most:.2f}x at most ({busy * cores:.2f} of {cores} cores busy, machine-wide)"
                + (
                    f"; {cores / own:.2f}x if serve + PostgreSQL ({own:.2f} cores) had the "
                    "machine alone"
                    if own > 0
                    else ""
                )
                + (f"; measured {measured:.2f}x" if measured is not None else ""),
                "target out of reach on this machine" if most < 1.7 else "reachable",
            ]
        )
    elif results.pgbench:
        rows += _ceiling_row(results, "booking transaction", 64, 0.25, alone=True)
    listing = max(
        (r for r in results.loads if r.name == "list my appointments"),
        key=lambda r: r.connections,
        default=None,
    )
    if listing is not None:
        health = results.load("/health", listing.connections)
        ratio = listing.rate / health.rate if health and health.rate else None
        rows.append(
            [
                f"list my appointments c{listing.connections}: share of /health",
                ">= 40 %",
                _f(ratio * 100 if ratio is not None else None, 1, " %"),
                _mark(ratio >= 0.40 if ratio is not None else None),
            ]
        )
        rows += _ceiling_row(results, "list page statement", listing.connections, 0.40)
        rows += _budget_rows(results, listing, 0.40, "list page statement")
    elif results.pgbench:
        rows += _ceiling_row(results, "list page statement", 64, 0.40, alone=True)
    me = max(
        (r for r in results.loads if r.name == "GET /auth/me"),
        key=lambda r: r.connections,
        default=None,
    )
    auth = results.auth
    if auth is not None:
        per = auth.statements / auth.calls if auth.calls else None
        rows.append(
            [
                "authentication: statements per request (cache warm; `auth`, in process)",
                "0",
                f"{_f(per, 2)} ({auth.statements} in {auth.calls:,} calls, "
                f"{auth.checkouts} connection checkouts)",
                _mark(auth.statements == 0),
            ]
        )
        cpu = auth.authenticate["p50"]
        rows.append(
            [
                "authentication CPU per request (`auth`: Authenticate, cache warm, p50 / mean)",
                "<= 0.2 ms",
                f"{_f(cpu, 3)} / {_f(auth.authenticate['mean'], 3)} ms",
                _mark(cpu <= 0.2),
            ]
        )
    me_sql = results.sql.get("GET /auth/me")
    if me_sql is not None:
        statements = me_sql["api"]["statements"]
        # GetMe answers with the account (name, e-mail, opt-outs): one read of it is
        # the endpoint's own; anything beyond it would be authentication's.
        beyond = statements - min(
            1.0,
            sum(n for text, n in me_sql["api"]["by_text"] if text.startswith("SELECT users.")),
        )
        rows.append(
            [
                "GET /auth/me: statements of authentication (all statements less GetMe's "
                "read of the account for the answer)",
                "0 (common case)",
                f"{max(beyond, 0.0):.1f} ({statements:.1f} in all)",
                _mark(beyond < 0.05),
            ]
        )
    if me is not None:
        health = results.load("/health", me.connections)
        me_cpu = me.cpu_ms_per_ok("server")
        health_cpu = health.cpu_ms_per_ok("server") if health else None
        extra = me_cpu - health_cpu if me_cpu is not None and health_cpu is not None else None
        rows.append(
            [
                "GET /auth/me: CPU minus /health's (authentication + GetMe reading the "
                "account; an upper bound of authentication's)",
                "<= 0.2 ms",
                _f(extra, 2, " ms"),
                _mark(extra <= 0.2 if extra is not None else None),
            ]
        )
    small, large = results.size.get("small"), results.size.get("large")
    if small is not None and large is not None:
        for p in ("50", "99"):
            ratio = large.latency_ms[p] / small.latency_ms[p] if small.latency_ms[p] else None
            rows.append(
                [
                    f"booking p{p}: large vs 1k appointments",
                    "<= 1.2x",
                    _f(ratio, 2, "x"),
                    _mark(ratio <= 1.2 if ratio is not None else None),
                ]
            )
    if results.sse:
        p99 = results.sse["from_response"]["p99"]
        rows.append(["commit -> SSE delivered: p99", "< 50 ms", _f(p99, 1, " ms"), _mark(p99 < 50)])
    for key, limit in (("serve at rest", 120), ("serve after load", 160)):
        mb = _largest(results.rss.get(key))
        if mb is not None:
            rows.append(
                [
                    f"RSS, {key} (largest process)",
                    f"< {limit} MB",
                    _f(mb, 0, " MB"),
                    _mark(mb < limit),
                ]
            )
    for key in ("worker at rest", "worker after load"):
        mb = _largest(results.rss.get(key))
        if mb is not None:
            rows.append(
                [f"RSS, {key} (hduce worker)", "< 100 MB", _f(mb, 0, " MB"), _mark(mb < 100)]
            )
    for label, timing in results.cli.items():
        median = float(timing["median_ms"])
        rows.append([f"{label}: median", "< 1 s", _f(median, 0, " ms"), _mark(median < 1000)])
    if results.startup:
        median = results.startup["median_s"]
        rows.append(
            [
                "make run -> /health (warm cache, fresh SQLite)",
                "< 10 s",
                _f(median, 1, " s"),
                _mark(median < 10),
            ]
        )
    return _table(["figure", "target", "measured", "verdict"], rows)


def _ceiling_row(
    results: Results, name: str, connections: int, target: float, alone: bool = False
) -> list[list[str]]:
    """What PostgreSQL alone did with the same SQL at the same concurrency (``alone``:
    the HTTP scenario itself was not run)."""
    rows = []
    health = results.load("/health", connections)
    for result in _ceilings(results, name, connections):
        share = _share(result.tps, health)
        if share is None:
            continue
        rows.append(
            [
                ("" if alone else "  ")
                + f"ceiling: PostgreSQL alone, the {name} (pgbench, {result.connections} "
                "connections), share of /health" + (f" c{connections}" if result.versus else ""),
                f">= {target:.0%} reachable?",
                f"{share * 100:.1f} % ({result.tps:,.0f} tx/s)",
                "target out of reach on this machine" if share < target else "reachable",
            ]
        )
    return rows


def _catch_up_cpu(results: Results, run: str) -> str:
    catch_up = results.catch_ups.get(run)
    if catch_up is None:
        return "-"
    parts = [
        f"{group} {_f(catch_up.ms_per_booking(group), 2)}"
        for group in catch_up.cpu
        if catch_up.ms_per_booking(group)
    ]
    if catch_up.delivered is None:
        parts.append("(e-mails not all delivered within 180 s)")
    return ", ".join(parts) or "-"


def _sustained_cpu(results: Results, run: str) -> str:
    """The Python processes' CPU per booking, the run's plus the catch-up's, and the
    rate one core would sustain at that cost (``hduce serve``: one process)."""
    catch_up = results.catch_ups.get(run)
    if catch_up is None:
        return "-"
    load = catch_up.run
    total = 0.0
    for group in load.cpu:
        if group == "postgres":
            continue
        during = load.cpu_ms_per_ok(group) or 0.0
        total += during + (catch_up.ms_per_booking(group) or 0.0)
    if not total:
        return "-"
    text = f"{total:.2f} ms"
    if set(load.cpu) - {"postgres"} == {"server"}:
        text += f" (one process: at most {1000 / total:,.0f} bookings/s sustained)"
    return text


def _budget_rows(
    results: Results, scenario: LoadResult, target: float, ceiling: str
) -> list[list[str]]:
    """The CPU per answer a share-of-/health target leaves, beside what was spent.

    ``hduce serve`` is one Python process: one event loop, so about one core however
    many the machine has (its I/O threads aside), and its rate is at most 1,000 ms
    over its CPU per answer. The whole machine's cores also carry PostgreSQL (the
    pgbench run with the same SQL tells its CPU per transaction) and wrk."""
    health = results.load("/health", scenario.connections)
    if health is None or not health.rate:
        return []
    wanted = target * health.rate
    per_answer = 1000 / wanted
    spent = scenario.cpu_ms_per_ok("server")
    health_cpu = health.cpu_ms_per_ok("server")
    one_process = f"{per_answer:.2f} ms of `hduce serve` CPU per answer" + (
        f" ({per_answer / health_cpu:.1f}x /health's {health_cpu:.2f} ms)" if health_cpu else ""
    )
    if spent is not None:
        one_process += f"; spent {spent:.2f} ms, {spent / per_answer:.1f}x over"
    cores = scenario.cores or health.cores
    machine = ""
    if cores:
        machine = f". All {cores} cores: {per_answer * cores:.2f} ms per answer for server, "
        machine += "PostgreSQL and wrk together"
        database = next(
            (
                r.cpu_ms_per_tx("postgres")
                for r in _ceilings(results, ceiling, scenario.connections)
                if r.cpu_ms_per_tx("postgres") is not None
            ),
            None,
        )
        if database is not None:
            machine += (
                f", of which PostgreSQL alone takes {database:.2f} ms (pgbench, same SQL), "
                f"leaving {per_answer * cores - database:.2f} ms"
            )
    return [
        [
            f"  budget: CPU per answer at {target:.0%} of /health ({wanted:,.0f}/s)",
            "-",
            one_process + machine,
            "see bench/README.md",
        ]
    ]


def auth_details(results: Results) -> list[str]:
    auth = results.auth
    if auth is None:
        return []
    out = ["", "### Authentication in process (`auth`)", ""]
    out += _table(
        ["part", "CPU p50 ms", "mean ms", "p90 ms", "p99 ms"],
        [
            [label, *(_f(data[k], 3) for k in ("p50", "mean", "p90", "p99"))]
            for label, data in (
                ("Authenticate (the whole use case)", auth.authenticate),
                ("token verification alone (JoseAccessTokens.verify)", auth.verify),
                ("denylist check alone (Redis EXISTS)", auth.denylist),
                ("access cache read alone (layered: process, then Redis)", auth.cache),
            )
        ],
    )
    out += [
        "",
        f"{auth.calls:,} calls over {auth.users} patients' tokens after each was "
        f"authenticated once (that first round sent {auth.cold_statements} SQL statements, "
        "one per miss of both cache layers; Redis entries live 10 min, so an earlier run "
        f"may have filled them); in the measured calls: {auth.statements} statements, "
        f"{auth.checkouts} connection checkouts. CPU is time.process_time of the bench's "
        "process around each await (the event loop's share of the Redis round trip included).",
    ]
    return out


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pgbench_details(results: Results) -> list[str]:
    out: list[str] = []
    for name, texts in results.pgbench_statements.items():
        out += ["", f"### The {name} as the application sent it (captured)", ""]
        out += [f"{n}. `{_one_line(text)[:140]}`" for n, text in enumerate(texts, 1)]
    for name, text in results.pgbench_scripts.items():
        out += ["", f"<details><summary>pgbench script: {name}</summary>", "", "```sql"]
        out += [text.rstrip(), "```", "", "</details>"]
    return out


def details(results: Results) -> list[str]:
    out: list[str] = []
    if results.loads:
        out += ["", "### Latency and status codes of each load run", ""]
        out += _table(
            [
                "scenario",
                "c",
                "seconds",
                "requests",
                "status codes",
                "p50",
                "p90",
                "p99",
                "p99.9",
                "max",
            ],
            [
                [
                    r.name,
                    r.connections,
                    _f(r.seconds, 1),
                    r.requests,
                    ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items())),
                    *(_f(r.latency_ms[p]) for p in ("50", "90", "99", "99.9")),
                    _f(r.latency_max_ms),
                ]
                for r in results.loads
            ],
        )
        out += ["", "Latencies in ms, measured by wrk from request sent to response read."]
    if results.drains:
        out += ["", "### Event backlog after each booking run", ""]
        out += _table(
            [
                "run",
                "outbox drained (events relayed) after the load stopped",
                "CPU after the run until drained and e-mails delivered, ms per booking",
                "Python CPU per booking, the run's and the catch-up's",
            ],
            [
                [
                    k,
                    _f(v, 1, " s") if v is not None else "not within 180 s",
                    _catch_up_cpu(results, k),
                    _sustained_cpu(results, k),
                ]
                for k, v in results.drains.items()
            ],
        )
    if results.settled:
        out += [
            "",
            "Before the next scenario the bench waited for the e-mails of these bookings "
            "(delivery sweep: up to 20 batches of 100 every 5 s; e-mails go to the log):",
            "",
        ]
        out += _table(
            ["after", "e-mails delivered after", "still waiting"],
            [
                [
                    k,
                    _f(v["deliveries_s"], 1, " s")
                    if v["deliveries_s"] is not None
                    else "timed out",
                    v["deliveries_left"],
                ]
                for k, v in results.settled.items()
            ],
        )
    if results.sse:
        sse = results.sse
        out += ["", "### Commit -> notification stored -> SSE delivered", ""]
        out += _table(
            ["measured from", "p50 ms", "p90 ms", "p99 ms", "min ms", "max ms"],
            [
                [name, *(_f(sse[key].get(p)) for p in ("p50", "p90", "p99", "min", "max"))]
                for name, key in (
                    ("booking response received (the commit happened before)", "from_response"),
                    ("booking request sent", "from_request"),
                )
            ],
        )
        out += [
            "",
            f"{sse['samples']} bookings, one at a time, for one patient listening on "
            f"GET /api/v1/notifications/stream; {sse['missed']} events not seen within 10 s.",
        ]
    if results.rss:
        out += ["", "### Resident memory (RSS) of each process", ""]
        out += _table(
            ["when", "processes (MB)", "total MB"],
            [
                [
                    when,
                    ", ".join(f"{label}: {mb:.0f}" for label, mb in found) or "n/a",
                    _f(sum(mb for _, mb in found), 0),
                ]
                for when, found in results.rss.items()
            ],
        )
        out += [
            "",
            "granian runs the app in a worker process under a supervisor process; both count.",
        ]
    if results.sql:
        out += ["", "### SQL on the wire per request (one request at a time)", ""]
        out += _table(
            [
                "request",
                "process",
                "statements",
                "transactions",
                "round trips",
                "statements prepared",
            ],
            [
                [
                    label,
                    side,
                    *(
                        _f(data[side][k], 1)
                        for k in ("statements", "transactions", "round_trips", "prepares")
                    ),
                ]
                for label, data in results.sql.items()
                for side in ("api", "worker")
            ],
        )
        for label, data in results.sql.items():
            texts = data["api"]["by_text"]
            if texts:
                out += ["", f"API statements per {label} request:", ""]
                out += _table(
                    ["per request", "statement"], [[f"{n:.2f}", f"`{t}`"] for t, n in texts[:25]]
                )
    if results.workers.get("split") is not None:
        split, single = results.workers["split"], results.workers["single"]
        out += ["", "### One process vs api --workers 2 + worker", ""]
        out += _table(
            ["setup", "bookings/s", "p50 ms", "p99 ms", "CPU ms per booking"],
            [
                [
                    "hduce serve",
                    _f(single.rate),
                    _f(single.latency_ms["50"]),
                    _f(single.latency_ms["99"]),
                    _cpu(single) + f", postgres {_f(single.cpu_ms_per_ok('postgres'), 2)}",
                ],
                [
                    "hduce api --workers 2 + hduce worker",
                    _f(split.rate),
                    _f(split.latency_ms["50"]),
                    _f(split.latency_ms["99"]),
                    _cpu(split) + f", postgres {_f(split.cpu_ms_per_ok('postgres'), 2)}",
                ],
            ],
        )
    if results.size:
        startup = "; ".join(
            f"{label}: {events} events, relayed after "
            + (_f(seconds, 1, " s") if seconds is not None else "more than 600 s")
            for label, (events, seconds) in results.size_startup.items()
        )
        out += [
            "",
            "### Booking latency and data size",
            "",
            results.size_notes,
            "",
            "Before measuring, each server relayed what its start-up sweeps emitted "
            f"(reminders of tomorrow's approved visits; {startup}, counted from the "
            "server's start, idle included) and went idle; their e-mails were marked sent.",
            "",
        ]
        out += _table(
            ["existing appointments", "bookings/s", "p50 ms", "p99 ms", "success"],
            [
                [
                    label,
                    _f(r.rate),
                    _f(r.latency_ms["50"]),
                    _f(r.latency_ms["99"]),
                    f"{r.ok_share:.1%}",
                ]
                for label, r in results.size.items()
            ],
        )
    if results.cli or results.startup:
        out += ["", "### Command line and start-up", ""]
        rows = [
            [
                label,
                _f(float(t["median_ms"]), 0),
                _f(float(t["mean_ms"]), 0),
                _f(float(t["min_ms"]), 0),
                _f(float(t["max_ms"]), 0),
                f"{t['runs']} ({t['tool']})",
            ]
            for label, t in results.cli.items()
        ]
        if results.startup:
            runs = results.startup["runs_s"]
            rows.append(
                [
                    "make run -> /health",
                    _f(results.startup["median_s"] * 1000, 0),
                    _f(sum(runs) / len(runs) * 1000, 0),
                    _f(min(runs) * 1000, 0),
                    _f(max(runs) * 1000, 0),
                    f"{len(runs)} (after 1 untimed)",
                ]
            )
        out += _table(["command", "median ms", "mean ms", "min ms", "max ms", "runs"], rows)
    return out


def profiles(results: Results) -> list[str]:
    out: list[str] = []
    for profile in results.profiles:
        out += ["", f"### py-spy: {profile.name}", ""]
        if profile.error or not profile.samples:
            out.append(f"No samples: {profile.error or 'py-spy recorded nothing'}")
            continue
        share = profile.hduce_inclusive / profile.samples
        out.append(
            f"{profile.samples} samples of busy Python threads in the app's process; {share:.0%} "
            "of them have HDUCE's own code (src/hduce) somewhere on the stack "
            f"(granian's supervisor process, left out: {profile.supervisor_samples} samples)."
        )
        out += ["", "Self time by package:", ""]
        out += _table(
            ["package", "share"],
            [[name, f"{count / profile.samples:.1%}"] for name, count in profile.by_package],
        )
        out += ["", "Top frames by self time:", ""]
        out += _table(
            ["share", "frame"],
            [[f"{count / profile.samples:.1%}", f"`{frame}`"] for frame, count in profile.top_self],
        )
    return out


def markdown(
    results: Results,
    *,
    title: str,
    facts: dict[str, str],
    preamble: Sequence[str],
) -> str:
    out = [f"# {title}", "", *preamble, "", "## Machine", ""]
    out += _table(["", ""], facts.items())
    out += ["", "## Figures beside /health (same run)", ""]
    out += figures_table(results)
    if results.pgbench:
        out += [
            "",
            "## Ceilings: PostgreSQL alone with the application's SQL (pgbench, same run)",
            "",
        ]
        out += pgbench_table(results)
        out += [
            "",
            "pgbench -M prepared replays the booking's transaction (BEGIN ... COMMIT) and "
            "the list page's statement exactly as captured from the application in this "
            "run (see Details), each booking a distinct free slot, on the same database "
            "after the HTTP runs with the server stopped, statistics refreshed (ANALYZE) "
            "after each booking warm-up (the wrk booking runs are not: see "
            "bench/README.md, Ceilings). No server in front of "
            "PostgreSQL can do more per second than this here; 'vs /health' is against "
            "GET /health at the same concurrency. PostgreSQL CPU: the backends of the "
            "bench database; pgbench CPU: the pgbench process.",
            "",
            "What the backends did during each run (pg_stat_activity every 100 ms, share "
            "of backend samples):",
            "",
        ]
        out += _table(
            ["PostgreSQL alone", "c", "backends were"],
            [
                [
                    r.name,
                    _c(r),
                    "; ".join(f"{name} {share:.0%}" for name, share in r.waits) or "n/a",
                ]
                for r in results.pgbench
            ],
        )
    out += [
        "",
        '"vs /health" = this scenario\'s rate / the rate of GET /health at the same '
        "concurrency in this run. CPU is the CPU time of the process tree (and of the "
        "PostgreSQL backends serving the bench database) during the measured run, divided "
        "by the expected answers (201 for bookings); with `hduce serve` it includes the "
        "in-process worker (outbox relay, notifications, e-mail sweep). Machine CPU busy: "
        "all cores, every process (the shared machine's other work included), from "
        "/proc/stat over the measured run.",
        "",
        "## Issue 10 targets (informational: printed, never asserted)",
        "",
    ]
    out += targets_table(results)
    out += ["", "## Details"]
    out += details(results)
    out += auth_details(results)
    out += pgbench_details(results)
    if results.profiles:
        out += ["", "## Profiles (py-spy, separate run after the measured one)"]
        out += profiles(results)
    if results.skipped or results.notes:
        out += ["", "## Not measured / notes", ""]
        out += [f"- {line}" for line in [*results.skipped, *results.notes]]
    out += ["", "## Commands", ""]
    for title_, command in results.commands:
        out += [f"- {title_}:", "", "  ```", f"  {command}", "  ```"]
    return "\n".join(out) + "\n"
