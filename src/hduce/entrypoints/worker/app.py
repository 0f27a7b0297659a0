"""``hduce worker`` with a broker: a FastStream application.

Its broker is the container's (``consuming_broker``): one subscriber per handler of
the handler table, each resolving its handler from the same dishka container per
message (dishka-faststream). Around the broker, the application's hooks run the
rest of the worker:

* before the broker starts: connect and declare the topology;
* once it consumes: the outbox relay and the sweeps (``background_services``
  without the consumers, which the application owns);
* at shutdown: those services stop first (the relay publishes nothing more), then
  the broker stops, letting the messages being handled finish.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from dishka import AsyncContainer
from faststream import FastStream
from faststream.specification import AsyncAPI

from hduce.bootstrap.background import background_services
from hduce.bootstrap.messaging import ConsumingBroker, package_version
from hduce.bootstrap.settings import Settings


def create_worker_app(
    container: AsyncContainer, settings: Settings, broker: ConsumingBroker
) -> FastStream:
    services = AsyncExitStack()

    async def start_services() -> None:
        for service in background_services(container, settings, mode="worker", consumers=False):
            await services.enter_async_context(service())

    async def stop_services() -> None:
        await services.aclose()

    return FastStream(
        broker.broker,
        # The standard logger, so the process's one log format applies.
        logger=logging.getLogger("hduce.worker"),
        on_startup=[broker.prepare],
        after_startup=[start_services],
        on_shutdown=[stop_services],
        specification=AsyncAPI(title="HDUCE worker", version=package_version()),
    )
