"""Events over a message broker (FastStream): RabbitMQ, Kafka, Redis Streams, NATS.

``topology`` names every place an event travels; ``brokers`` builds the broker of
``HDUCE_BROKER_URL`` and declares the topology; ``publisher`` is the
``EventPublisher`` port the outbox relay uses; ``consumers`` turns the handler
table into subscribers; ``documentation`` describes the messages for AsyncAPI.
"""
