"""Load with wrk: every request from a prepared file (``requests.lua``), bounded in time."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).with_name("requests.lua")


@dataclass
class LoadResult:
    name: str
    connections: int
    seconds: float
    requests: int
    statuses: dict[str, int]
    latency_ms: dict[str, float]
    latency_max_ms: float
    errors: dict[str, int]
    wrapped: int
    command: str
    expect: str = "200"
    #: Each line of the request file may be sent once (bookings): wrapping is reported.
    single_use: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    #: Share of all the machine's cores busy during the run (/proc/stat), and their count.
    machine_busy: float | None = None
    cores: int = 0

    @property
    def ok(self) -> int:
        return self.statuses.get(self.expect, 0)

    @property
    def rate(self) -> float:
        """Expected answers per second (200, or 201 for bookings)."""
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def ok_share(self) -> float:
        return self.ok / self.requests if self.requests else 0.0

    def others(self) -> str:
        """The answers that were not the expected status, and socket errors."""
        parts = [
            f"{count}x {code}"
            for code, count in sorted(self.statuses.items())
            if code != self.expect
        ]
        parts += [
            f"{count} {kind} errors"
            for kind, count in self.errors.items()
            if count and kind != "status"
        ]
        if self.wrapped and self.single_use:
            parts.append(f"request file wrapped {self.wrapped}x")
        return ", ".join(parts)

    def cpu_ms_per_ok(self, group: str) -> float | None:
        if group not in self.cpu or not self.ok:
            return None
        return self.cpu[group] * 1000 / self.ok


def run_wrk(
    wrk: str,
    *,
    name: str,
    url: str,
    request_file: Path,
    connections: int,
    seconds: float,
    expect: str = "200",
    timeout_s: int = 10,
) -> LoadResult:
    threads = max(1, min(2, connections))
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(LUA),
        url,
        "--",
        str(request_file),
        str(threads),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + timeout_s + 60, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        name=name,
        connections=connections,
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        latency_max_ms=data["latency_max_us"] / 1000,
        errors=data["errors"],
        wrapped=data["wrapped"],
        command=shlex.join(argv),
        expect=expect,
        single_use=expect == "201",
    )
