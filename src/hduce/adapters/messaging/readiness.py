"""The broker's readiness probe."""

from __future__ import annotations

from typing import Final

from hduce.adapters.messaging.brokers import EventBroker

#: How long the probe waits for the broker; below the HTTP readiness check's own
#: limit (3 s), so a broker that does not answer is reported as such.
PING_TIMEOUT_SECONDS: Final = 2.0


class BrokerUnreachable(Exception):
    pass


class BrokerProbe:
    """A ``ReadinessProbe`` (see ``hduce.application.ports``): this process's broker
    connection is up and the broker answers (FastStream's ``ping``: RabbitMQ's
    connection is open, Kafka describes its cluster, Redis PINGs, NATS is connected).

    A process that has not used its broker (``hduce api`` only writes to the outbox)
    connects on its first check, declaring nothing."""

    name = "broker"

    def __init__(self, broker: EventBroker) -> None:
        self._broker = broker

    async def check(self) -> None:
        # Once connected, the client reconnects by itself; ping says if it is now.
        await self._broker.connect()
        if not await self._broker.broker.ping(timeout=PING_TIMEOUT_SECONDS):
            raise BrokerUnreachable(f"the {self._broker.kind} broker does not answer")
