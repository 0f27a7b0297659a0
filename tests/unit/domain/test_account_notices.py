"""The security notices of an account: a sign-in from a new device (in the app and by
email), a changed password (by email); the networks kept of client addresses."""

from __future__ import annotations

import pytest

from hduce.domain import events
from hduce.domain.events import DomainEvent
from hduce.domain.notifications import (
    Channel,
    Recipient,
    Template,
    plan_account_notifications,
    plan_notifications,
    render_account_notice,
)
from hduce.domain.sessions import clip_user_agent, coarse_network
from tests.unit.domain.builders import NOW, uid

OWNER = Recipient(
    uid(1), "Ana Pérez", "Europe/Madrid", email="ana@example.org", phone="+34600111222"
)


def new_device() -> DomainEvent:
    return DomainEvent(
        occurred_at=NOW,
        aggregate_id=uid(1),
        aggregate_version=1,
        payload=events.NewDeviceSignedIn(
            user_id=uid(1),
            session_id=uid(2),
            client="Firefox on Linux",
            network="203.0.113.0/24",
            signed_in_at=NOW,
        ),
    )


def password_changed(ended: int = 2) -> DomainEvent:
    return DomainEvent(
        occurred_at=NOW,
        aggregate_id=uid(1),
        aggregate_version=2,
        payload=events.PasswordChanged(user_id=uid(1), changed_at=NOW, sessions_ended=ended),
    )


def test_a_new_device_is_told_in_the_app_and_by_email_never_by_sms() -> None:
    intents = plan_account_notifications(new_device(), OWNER)
    assert [(i.channel, i.template) for i in intents] == [
        (Channel.IN_APP, Template.NEW_DEVICE_SIGN_IN),
        (Channel.EMAIL, Template.NEW_DEVICE_SIGN_IN),
    ]
    text = render_account_notice(intents[1])
    assert text.title == "New sign-in to your account"
    assert "Firefox on Linux" in text.body and "203.0.113.0/24" in text.body
    assert "(Europe/Madrid)" in text.body  # in the owner's own timezone


def test_security_notices_ignore_the_email_opt_out() -> None:
    opted_out = Recipient(uid(1), "Ana", email="ana@example.org", email_opt_out=True)
    channels = [i.channel for i in plan_account_notifications(password_changed(), opted_out)]
    assert channels == [Channel.EMAIL]


def test_a_password_change_is_told_by_email_with_the_sessions_ended() -> None:
    [intent] = plan_account_notifications(password_changed(2), OWNER)
    text = render_account_notice(intent)
    assert text.title == "Your password was changed"
    assert "2 other sessions were signed out" in text.body
    [alone] = plan_account_notifications(password_changed(0), OWNER)
    assert "signed out" not in render_account_notice(alone).body


def test_only_the_account_owner_is_told_and_without_email_only_in_the_app() -> None:
    stranger = Recipient(uid(9), "Someone", email="x@example.org")
    assert plan_account_notifications(new_device(), stranger) == []
    no_email = Recipient(uid(1), "Ana")
    assert [i.channel for i in plan_account_notifications(new_device(), no_email)] == [
        Channel.IN_APP
    ]
    assert plan_account_notifications(password_changed(), no_email) == []


def test_one_notice_per_event_and_channel_however_often_it_is_replayed() -> None:
    event = new_device()
    first = plan_account_notifications(event, OWNER)
    again = plan_account_notifications(event, OWNER)
    assert [i.dedupe_key for i in first] == [i.dedupe_key for i in again]
    assert len({i.dedupe_key for i in first}) == 2


def test_appointment_policy_ignores_account_events() -> None:
    from hduce.domain.notifications import Parties

    assert plan_notifications(new_device(), Parties(OWNER, OWNER)) == []


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.1.2.3", "10.1.2.0/24"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),
        (" 192.0.2.1 ", "192.0.2.0/24"),
        ("testclient", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_network_of_an_address_is_kept(address: str | None, network: str | None) -> None:
    assert coarse_network(address) == network


def test_user_agents_are_kept_printable_and_short() -> None:
    assert clip_user_agent("curl/8.5.0\x00\n") == "curl/8.5.0"
    assert clip_user_agent("x" * 1000) == "x" * 256
    assert clip_user_agent("   ") is None
    assert clip_user_agent(None) is None
