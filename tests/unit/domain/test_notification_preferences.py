"""Notification preferences in the policy (hypothesis): a (channel, kind) turned off
removes exactly that channel for that kind of appointment news, and nothing else;
security notices ignore every preference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.events import DomainEvent
from hduce.domain.notifications import (
    ACCOUNT_EVENT_TYPES,
    OPTIONAL_KINDS,
    Channel,
    Parties,
    checked_opt_outs,
    opt_out_key,
    plan_account_notifications,
    plan_notifications,
)
from tests.unit.domain.test_account_notices import OWNER, new_device, password_changed
from tests.unit.domain.test_domain_notifications import (
    DOCTOR,
    PATIENT,
    approved,
    cancelled_by,
    checked_in,
    completed,
    requested,
)

EVENTS: list[Callable[[], DomainEvent]] = [
    requested,
    approved,
    cancelled_by("patient"),
    cancelled_by("doctor"),
    checked_in,
    completed,
]
pairs = st.frozensets(
    st.tuples(st.sampled_from(list(Channel)), st.sampled_from(sorted(OPTIONAL_KINDS)))
)


def keys(opt_outs: frozenset[tuple[Channel, str]]) -> frozenset[str]:
    return frozenset(opt_out_key(channel, kind) for channel, kind in opt_outs)


@given(opt_outs=pairs, make=st.sampled_from(EVENTS))
def test_an_opt_out_removes_exactly_its_channel_for_its_kind(
    opt_outs: frozenset[tuple[Channel, str]], make: Callable[[], DomainEvent]
) -> None:
    event = make()
    muted = Parties(
        replace(PATIENT, opt_outs=keys(opt_outs)), replace(DOCTOR, opt_outs=keys(opt_outs))
    )
    before = plan_notifications(event, Parties(PATIENT, DOCTOR))
    after = plan_notifications(event, muted)

    expected = [i for i in before if (i.channel, event.type) not in opt_outs]
    assert [(i.recipient.user_id, i.channel, i.template) for i in after] == [
        (i.recipient.user_id, i.channel, i.template) for i in expected
    ]


@given(opt_outs=pairs)
def test_security_notices_ignore_every_preference(
    opt_outs: frozenset[tuple[Channel, str]],
) -> None:
    owner = replace(OWNER, opt_outs=keys(opt_outs), email_opt_out=True, sms_opt_out=True)
    for event in (new_device(), password_changed()):
        assert [i.channel for i in plan_account_notifications(event, owner)] == [
            i.channel for i in plan_account_notifications(event, OWNER)
        ]


@given(opt_outs=pairs)
def test_checked_opt_outs_spells_each_pair_once(
    opt_outs: frozenset[tuple[Channel, str]],
) -> None:
    checked = checked_opt_outs((channel.value, kind) for channel, kind in opt_outs)
    assert checked == keys(opt_outs)


# Account events are security notices, except personal news (a waitlist offer), which a
# person may turn off like appointment news.
@pytest.mark.parametrize(
    "kind", [*sorted(ACCOUNT_EVENT_TYPES - OPTIONAL_KINDS), "appointment.lost", ""]
)
def test_security_notices_and_unknown_kinds_cannot_be_turned_off(kind: str) -> None:
    with pytest.raises(InvalidInput):
        checked_opt_outs([("email", kind)])


def test_a_waitlist_offer_is_news_a_person_may_turn_off() -> None:
    assert checked_opt_outs([("email", "waitlist.offer_made")]) == {
        opt_out_key(Channel.EMAIL, "waitlist.offer_made")
    }


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(InvalidInput):
        checked_opt_outs([("fax", "appointment.approved")])


def test_without_a_kind_the_channels_are_those_of_the_account() -> None:
    muted = replace(PATIENT, opt_outs=frozenset({"email:appointment.approved"}))
    assert muted.channels() == [Channel.IN_APP, Channel.EMAIL, Channel.SMS]
    assert muted.channels("appointment.approved") == [Channel.IN_APP, Channel.SMS]
