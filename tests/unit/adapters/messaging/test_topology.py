"""The broker topology: every name the publisher writes to is one a consumer reads."""

from __future__ import annotations

import pytest

from hduce.adapters.messaging.topology import Topology, aggregate_kind
from hduce.application.messaging.handlers import event_routes
from hduce.domain.events import EVENT_TYPES

NOTIFY = next(route for route in event_routes() if route.handler.consumer == "notifications")


def test_every_event_type_belongs_to_an_aggregate_kind() -> None:
    assert {aggregate_kind(t) for t in EVENT_TYPES} == {
        "appointment",
        "doctor",
        "reminder",
        "user",
        "waitlist",
    }
    with pytest.raises(ValueError):
        aggregate_kind("nodot")


def test_rabbitmq_one_topic_exchange_and_one_queue_per_handler_bound_to_its_types() -> None:
    topology = Topology()

    [subscription] = topology.subscriptions("rabbit", "notifications", NOTIFY.event_types)

    assert topology.exchange == "hduce.events"
    assert topology.routing_key("appointment.approved") == "appointment.approved"
    assert subscription.sources == ("hduce.notifications",)
    assert subscription.group == "hduce.notifications"
    assert set(subscription.bindings) == set(NOTIFY.event_types)
    assert "appointment.entered_in_error" not in subscription.bindings
    assert subscription.dead_letters == "hduce.notifications.dead-letters"


def test_kafka_one_topic_per_aggregate_kind_and_one_group_per_handler() -> None:
    topology = Topology()

    [subscription] = topology.subscriptions("kafka", "notifications", NOTIFY.event_types)

    assert topology.topics() == (
        "hduce.appointment",
        "hduce.doctor",
        "hduce.reminder",
        "hduce.user",
        "hduce.waitlist",
    )
    assert topology.topic("appointment.cancelled") == "hduce.appointment"
    assert topology.topic("reminder.due") == "hduce.reminder"
    # One consumer reads every topic of the handler: a worker joins the group once.
    assert subscription.sources == (
        "hduce.appointment",
        "hduce.doctor",
        "hduce.reminder",
        "hduce.user",
        "hduce.waitlist",
    )
    assert subscription.group == "hduce.notifications"
    assert subscription.dead_letters == "hduce.notifications.dead-letters"


def test_redis_streams_per_aggregate_kind_with_one_group_per_handler() -> None:
    subscriptions = Topology().subscriptions("redis", "notifications", NOTIFY.event_types)

    assert [s.sources for s in subscriptions] == [
        ("hduce.appointment",),
        ("hduce.doctor",),
        ("hduce.reminder",),
        ("hduce.user",),
        ("hduce.waitlist",),
    ]
    assert {s.group for s in subscriptions} == {"hduce.notifications"}


def test_nats_one_stream_and_a_durable_consumer_per_handler_and_kind() -> None:
    topology = Topology()

    subscriptions = topology.subscriptions("nats", "notifications", NOTIFY.event_types)

    assert topology.jetstream == "HDUCE_EVENTS"
    assert topology.subjects == "hduce.events.>"
    assert topology.subject("reminder.due") == "hduce.events.reminder.due"
    assert [(s.sources, s.group) for s in subscriptions] == [
        (("hduce.events.appointment.>",), "hduce-notifications-appointment"),
        (("hduce.events.doctor.>",), "hduce-notifications-doctor"),
        (("hduce.events.reminder.>",), "hduce-notifications-reminder"),
        (("hduce.events.user.>",), "hduce-notifications-user"),
        (("hduce.events.waitlist.>",), "hduce-notifications-waitlist"),
    ]
    assert topology.dead_letter_jetstream == "HDUCE_DEAD_LETTERS"
    assert subscriptions[0].dead_letters == "hduce.dead-letters.notifications"


@pytest.mark.parametrize("kind", ["rabbit", "kafka", "redis", "nats"])
def test_every_name_starts_with_the_prefix(kind: str) -> None:
    topology = Topology(prefix="clinic-b")
    for s in topology.subscriptions(kind, "notifications", NOTIFY.event_types):  # type: ignore[arg-type]
        for name in (*s.sources, s.group, s.dead_letters):
            assert name.startswith("clinic-b"), name
    assert Topology(prefix="clinic-b").jetstream == "CLINIC_B_EVENTS"


def test_a_handler_without_event_types_subscribes_to_nothing() -> None:
    assert Topology().subscriptions("kafka", "idle", ()) == []


@pytest.mark.parametrize("prefix", ["", "Hduce", "a.b", "a>", "1abc", "x" * 41])
def test_the_prefix_is_one_plain_token(prefix: str) -> None:
    with pytest.raises(ValueError):
        Topology(prefix=prefix)
