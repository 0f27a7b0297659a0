"""Check-in devices and check-in codes (hduce.domain.devices, .check_in_codes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hduce.domain.check_in_codes import (
    ALPHABET,
    LENGTH,
    new_check_in_code,
    normalise_check_in_code,
)
from hduce.domain.devices import Device, DeviceStatus, hash_device_secret, new_device_secret
from hduce.domain.errors import InvalidInput
from hduce.domain.ids import uuid7

NOW = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=2)


def device(secret: str = "s") -> Device:
    return Device.register(
        device_id=uuid7(),
        name=" Kiosk ",
        location="Hall",
        secret=secret,
        now=NOW,
        registered_by=None,
    )


def test_codes_are_eight_unambiguous_characters_and_differ() -> None:
    codes = {new_check_in_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01OIL") & set(ALPHABET)


def test_every_character_of_the_alphabet_appears_in_every_position() -> None:
    # 3000 codes: a character missing from a position has odds of (30/31)^3000 ~ 1e-43.
    codes = [new_check_in_code() for _ in range(3000)]
    for position in range(LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("K7MQ4XPA", "K7MQ4XPA"),
        (" k7mq-4xpa ", "K7MQ4XPA"),
        ("K7MQ 4XPA", "K7MQ4XPA"),
        ("K7MQ4XP", None),
        ("K7MQ4XP0", None),
        ("", None),
        ("K7MQ4XPAA", None),
    ],
)
def test_a_typed_code_is_read_whatever_its_case_spaces_and_dashes(
    typed: str, code: str | None
) -> None:
    assert normalise_check_in_code(typed) == code


def test_only_the_hash_of_the_secret_is_kept_and_checked() -> None:
    secret = new_device_secret()
    kiosk = device(secret)
    assert secret not in kiosk.secret_hash and kiosk.secret_hash == hash_device_secret(secret)
    assert kiosk.name == "Kiosk"
    assert kiosk.accepts(secret) and not kiosk.accepts(secret + "x")


def test_status_follows_last_seen_and_revocation() -> None:
    kiosk = device()
    assert kiosk.status(NOW, WINDOW) is DeviceStatus.NEVER_SEEN
    kiosk.seen(NOW)
    kiosk.seen(NOW - timedelta(minutes=1))  # an older message does not move it back
    assert kiosk.last_seen_at == NOW
    assert kiosk.status(NOW + WINDOW, WINDOW) is DeviceStatus.ONLINE
    assert kiosk.status(NOW + WINDOW + timedelta(seconds=1), WINDOW) is DeviceStatus.OFFLINE
    assert kiosk.revoke(NOW) and not kiosk.revoke(NOW + WINDOW)
    assert kiosk.revoked_at == NOW
    assert kiosk.status(NOW, WINDOW) is DeviceStatus.REVOKED
    assert not kiosk.accepts("s")


@pytest.mark.parametrize(("name", "location"), [("", "Hall"), ("Kiosk", " "), ("x" * 121, "Hall")])
def test_a_device_needs_a_name_and_a_location(name: str, location: str) -> None:
    with pytest.raises(InvalidInput):
        Device.register(
            device_id=uuid7(),
            name=name,
            location=location,
            secret="s",
            now=NOW,
            registered_by=None,
        )
