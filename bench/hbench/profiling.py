"""py-spy: record a process tree while a scenario runs, then summarise the samples.

``py-spy record --nonblocking --subprocesses --nolineno -f raw`` writes one line per
distinct stack, ``frame;frame;...;leaf count``. Self time is the leaf's share of
the (non-idle) samples; the package of a frame comes from its file path.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")


@dataclass
class Profile:
    name: str
    samples: int
    top_self: list[tuple[str, int]]
    by_package: list[tuple[str, int]]
    hduce_inclusive: int
    command: str
    error: str = ""
    #: Samples of the root process (granian's supervisor), left out of the rest.
    supervisor_samples: int = 0


class Recorder:
    """``py-spy record`` running in the background until ``finish``."""

    def __init__(self, py_spy: str, pid: int, seconds: int, output: Path, rate: int = 100):
        self.output = output
        self.pid = pid
        self.argv = [
            py_spy,
            "record",
            "--nonblocking",
            "--subprocesses",
            "--nolineno",
            "--full-filenames",
            "--rate",
            str(rate),
            "--duration",
            str(seconds),
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        self._process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )

    def finish(self, name: str, timeout: float = 60) -> Profile:
        try:
            _, stderr = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, stderr = self._process.communicate()
        command = " ".join(self.argv)
        if not self.output.exists():
            return Profile(name, 0, [], [], 0, command, error=(stderr or "no output").strip())
        return summarise(name, self.output.read_text(), command, skip_pid=self.pid)


def package_of(file: str) -> str:
    path = file.replace("\\", "/")
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/hduce/" in path or path.startswith("hduce/"):
        return "hduce"
    match = re.search(r"/lib/python3\.\d+/([^/]+)", path)
    if match:
        return f"stdlib {match.group(1).removesuffix('.py')}"
    return path or "?"


def _frame(raw: str) -> tuple[str, str]:
    match = _FRAME.match(raw.strip())
    if not match:
        return raw.strip(), "?"
    file = match.group("file")
    short = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", file)
    short = re.sub(r"^.*/src/", "", short)
    return f"{match.group('function')} ({short})", package_of(file)


def summarise(
    name: str, raw: str, command: str, top: int = 10, skip_pid: int | None = None
) -> Profile:
    """Self time of the samples, leaving out process ``skip_pid``: granian's supervisor
    only waits for its workers, in native code that py-spy may count as busy."""
    leaves: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    hduce = 0
    total = 0
    skipped = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        parts = stack.split(";")
        processes = [p for p in parts if p.startswith("process ")]
        # The innermost "process" frame is the process the sample was taken in.
        if skip_pid is not None and processes and processes[-1].startswith(f"process {skip_pid}:"):
            skipped += count
            continue
        frames = [f for f in parts if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        leaf, package = _frame(frames[-1])
        leaves[leaf] += count
        packages[package] += count
        if any("/hduce/" in f for f in frames):
            hduce += count
    return Profile(
        name=name,
        samples=total,
        top_self=leaves.most_common(top),
        by_package=packages.most_common(8),
        hduce_inclusive=hduce,
        command=command,
        supervisor_samples=skipped,
    )
