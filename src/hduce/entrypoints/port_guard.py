"""One server per address: refuse a port that another server holds.

granian's listeners always set SO_REUSEPORT (it has no option to turn it off), so a
second server on a taken port would start without a word and the kernel would split
connections between the two, each with its own random development JWT secret.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
from pathlib import Path
from typing import IO

import click


def server_url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def claim_port(host: str, port: int) -> IO[bytes]:
    """Refuse a taken port, and hold a lock on it for as long as the returned file is open.

    The probe alone leaves a window (from the probe until granian's workers listen,
    about half a second) in which a second hduce server would pass it too; the lock,
    taken first and held for the server's lifetime, closes that window between hduce
    servers on this machine.
    """
    lock_path = Path(tempfile.gettempdir()) / f"hduce-{host.replace(':', '_')}-{port}.lock"
    lock = lock_path.open("ab")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        _refuse(host, port, "is already in use (another hduce server?)")
    refuse_taken_port(host, port)
    return lock


def _refuse(host: str, port: int, why: str) -> None:
    click.echo(
        f"hduce: {server_url(host, port)} {why}: stop that process, "
        "or choose another port with --port or HDUCE_HTTP_PORT",
        err=True,
    )
    raise SystemExit(1)


def refuse_taken_port(host: str, port: int) -> None:
    """Exit with one line unless ``host:port`` is free to listen on: this probe binds
    without SO_REUSEPORT, which the kernel refuses while any other socket listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            # Connections of a server just stopped (TIME_WAIT) must not count;
            # a listener still does. (On Windows the option would allow hijacking.)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _refuse(host, port, "is already in use (another hduce server?)")
            click.echo(
                f"hduce: cannot listen on {server_url(host, port)}: {exc.strerror or exc}", err=True
            )
            raise SystemExit(1) from None
