"""A real ``hduce`` server process on a free loopback port, for tests that need
one (streaming, fuzzing over HTTP): in-process test clients cannot stand in."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hduce_command() -> list[str]:
    script = Path(sys.executable).with_name("hduce")
    if script.exists():
        return [str(script)]
    found = shutil.which("hduce")
    return [found] if found else [sys.executable, "-m", "hduce.entrypoints.cli"]


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without its HDUCE_* settings, plus ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HDUCE_") or k.startswith("HDUCE_TEST_")
    }
    return env | settings


def run_command(args: list[str], env: Mapping[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [*hduce_command(), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextmanager
def running_server(
    workdir: Path, env: Mapping[str, str], *, command: str = "serve", timeout: float = 90.0
) -> Iterator[str]:
    """Start ``hduce <command>`` and yield its base URL once /health answers 200."""
    port = free_port()
    full_env = dict(env) | {"HDUCE_HTTP_PORT": str(port), "HDUCE_LOG_FORMAT": "json"}
    log_path = workdir / f"{command}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*hduce_command(), command],
            cwd=workdir,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no healthy server within {timeout} s:\n{log_path.read_text()}"
                )
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_worker(
    workdir: Path, env: Mapping[str, str], *, timeout: float = 30.0
) -> Iterator[Path]:
    """Start ``hduce worker`` and yield its log file once it says it started."""
    full_env = dict(env) | {"HDUCE_LOG_FORMAT": "json"}
    log_path = workdir / f"worker-{free_port()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*hduce_command(), "worker"],
            cwd=workdir,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while "worker started" not in log_path.read_text():
            if process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"worker not started within {timeout} s:\n{log_path.read_text()}"
                )
            time.sleep(0.2)
        yield log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
