"""Tools, the machine, and the processes under test (Linux ``/proc``, no psutil)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------ tools


def ensure_apt_tool(name: str, package: str | None = None) -> str | None:
    """``name`` on PATH; else ``apt-get install -y package`` (default: ``name``) when
    root. None if neither works."""
    found = shutil.which(name)
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    package = package or name
    log(f"{name} is missing: apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(["apt-get", "install", "-y", package], check=False, **quiet).returncode:
        subprocess.run(["apt-get", "update"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", package], check=False, **quiet)
    return shutil.which(name)


def py_spy() -> str | None:
    """The py-spy of the project's environment (dev dependency), else one on PATH."""
    local = VENV_BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def hduce_bin() -> str:
    return str(VENV_BIN / "hduce")


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else "?"
    )


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def machine_facts(tools: Mapping[str, str | None]) -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().split("\n")
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    facts = {
        "cpus": f"{os.cpu_count()} ({cpu})",
        "memory": f"{total_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    for package in ("granian", "litestar", "sqlalchemy", "asyncpg", "redis", "uvloop"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            facts[f"{package} (Python package)"] = metadata.version(package)
    for name, path in tools.items():
        if path is None:
            facts[name] = "not available"
        elif name == "wrk":
            facts[name] = _version([path, "-v"]).split(" [")[0]
        else:
            facts[name] = _version([path, "--version"])
    return facts


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ /proc


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> float | None:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * PAGE_SIZE / 1024 / 1024


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        fields = _stat(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def postgres_backends(database: str) -> list[int]:
    """Backends serving ``database``: their process title names it (local server only)."""
    marker = f" {database} "
    return [
        pid
        for pid in all_pids()
        if (title := cmdline(pid)).startswith("postgres:") and marker in f"{title} "
    ]


@dataclass
class CpuMeter:
    """CPU seconds used by groups of processes between ``start`` and ``stop``.

    A sampler thread re-lists each group's processes every 0.5 s and remembers each
    one's last CPU time: processes born during the window count in full, processes
    that exit count up to their last sample (a short-lived database connection may
    lose up to 0.5 s of its CPU).
    """

    groups: Mapping[str, Callable[[], Iterable[int]]]
    interval: float = 0.5
    _baseline: dict[tuple[str, int], float] = field(default_factory=dict)
    _last: dict[tuple[str, int], float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self, first: bool) -> None:
        for group, pids in self.groups.items():
            for pid in pids():
                seconds = cpu_seconds(pid)
                if seconds is None:
                    continue
                key = (group, pid)
                if key not in self._baseline:
                    self._baseline[key] = seconds if first else 0.0
                self._last[key] = seconds

    def start(self) -> None:
        self._sample(first=True)

        def loop() -> None:
            while not self._stop.wait(self.interval):
                self._sample(first=False)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample(first=False)
        used: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        for (group, pid), last in self._last.items():
            used[group] += max(0.0, last - self._baseline[(group, pid)])
        return used


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all the machine's cores since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user/nice)
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return total - idle, total


@dataclass
class MachineMeter:
    """Share of all the machine's cores busy between ``start`` and ``stop``: every
    process counts (wrk, PostgreSQL, the server, the bench, and anything else the
    machine runs)."""

    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    _start: tuple[int, int] = (0, 0)

    def start(self) -> None:
        self._start = _machine_ticks()

    def stop(self) -> float:
        busy, total = _machine_ticks()
        spent = total - self._start[1]
        return (busy - self._start[0]) / spent if spent > 0 else 0.0


# ------------------------------------------------------------------ servers


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The bench's environment without any HDUCE_* variable (the server refuses unknown
    ones, e.g. HDUCE_TEST_*), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HDUCE_")}
    env.update(extra)
    return env


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return int(response.status)
    except OSError as exc:
        return getattr(exc, "code", None)


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> float:
    """Seconds until ``url`` answers 200 (polled every 50 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process exited with status {process.returncode}")
        if http_status(url, timeout=1.0) == 200:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


class Process:
    """A command started in its own session (so its whole group can be stopped)."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tree(self) -> list[int]:
        return process_tree(self.pid) if self.popen.poll() is None else []

    def rss(self) -> list[tuple[str, float]]:
        """(role, MB) of each process of the tree (granian: a supervisor and workers)."""
        found = []
        tree = self.tree()
        for pid in tree:
            mb = rss_mb(pid)
            if mb is not None:
                if pid != self.pid:
                    role = "worker process"
                else:
                    role = "supervisor" if len(tree) > 1 else "process"
                found.append((f"{role} {pid}", mb))
        return found

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


def save_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, default=str))
