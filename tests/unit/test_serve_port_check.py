"""``hduce serve``/``api`` refuse a port another process listens on, even one
bound with SO_REUSEPORT (as granian binds it), and accept one a stopped server
left only TIME_WAIT connections on."""

from __future__ import annotations

import socket
import sys

import pytest

from hduce.entrypoints import port_guard

LOOPBACK = "127.0.0.1"


def _listener(*, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen()
    return sock


@pytest.mark.parametrize(
    "reuse_port",
    [
        pytest.param(
            True,
            id="so_reuseport",
            marks=pytest.mark.skipif(
                not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here"
            ),
        ),
        pytest.param(False, id="plain"),
    ],
)
def test_a_port_someone_listens_on_stops_the_server_with_one_line(
    reuse_port: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with _listener(reuse_port=reuse_port) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            port_guard.refuse_taken_port(LOOPBACK, port)

    assert exited.value.code == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1
    assert f"http://127.0.0.1:{port} is already in use" in message
    assert "--port" in message and "HDUCE_HTTP_PORT" in message


def test_an_address_that_cannot_be_bound_is_one_line_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        port_guard.refuse_taken_port("192.0.2.1", 8000)  # TEST-NET-1: not an address of this host

    assert exited.value.code == 1
    message = capsys.readouterr().err
    assert message.count("\n") == 1
    assert message.startswith("hduce: cannot listen on http://192.0.2.1:8000: ")


@pytest.mark.skipif(sys.platform == "win32", reason="TIME_WAIT rules differ on Windows")
def test_time_wait_leftovers_of_a_stopped_server_do_not_count() -> None:
    with _listener(reuse_port=False) as server:
        port = server.getsockname()[1]
        client = socket.create_connection((LOOPBACK, port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first: its side ends in TIME_WAIT
        client.recv(1)
        client.close()
    # Only the TIME_WAIT connection is left on the port: a restart may bind it.
    port_guard.refuse_taken_port(LOOPBACK, port)


def test_a_free_port_passes_and_is_not_kept() -> None:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    port_guard.refuse_taken_port(LOOPBACK, port)
    with socket.socket() as again:  # the probe let go of it: granian can bind it
        again.bind((LOOPBACK, port))


def test_a_port_claimed_by_a_starting_server_is_refused_before_it_listens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The window between the probe and granian's listeners: nothing listens yet, but a
    first server holds the port's lock, so a second one is refused all the same."""
    with socket.socket() as free:
        free.bind((LOOPBACK, 0))
        port = free.getsockname()[1]
    claim = port_guard.claim_port(LOOPBACK, port)
    try:
        with pytest.raises(SystemExit) as stopped:
            port_guard.claim_port(LOOPBACK, port)
        assert stopped.value.code == 1
        assert "is already in use (another hduce server?)" in capsys.readouterr().err
    finally:
        claim.close()
    port_guard.claim_port(LOOPBACK, port).close()  # released with the first server
