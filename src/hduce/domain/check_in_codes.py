"""Check-in codes: the short code printed on an appointment's confirmation.

A patient shows it (as text or as its QR code) to a check-in device at the clinic's
door; the device sends it over MQTT and the worker checks the appointment in
(docs/decisions/0013-mqtt-check-in-devices.md).

Eight characters from an alphabet without the look-alikes 0/O, 1/I/L: easy to read
aloud and to type, 31^8 (about 8.5e11) values, so random codes practically never
collide (the database's unique index refuses the rare one that would) and cannot be
guessed: a guess also needs a registered device's secret.
"""

from __future__ import annotations

import secrets
from typing import Final

ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH: Final = 8


#: How many codes there are: a code is a number below this, written in base 31.
_CODES: Final = len(ALPHABET) ** LENGTH


def new_check_in_code() -> str:
    """A uniformly random code: one draw below 31^8 written in ``ALPHABET`` (the same
    distribution as eight ``secrets.choice``, but one read of the system's randomness
    instead of eight: every booking makes a code)."""
    number = secrets.randbelow(_CODES)
    digits = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def normalise_check_in_code(raw: str) -> str | None:
    """The stored spelling of a code as typed or scanned (case, spaces and dashes
    ignored), or None when it cannot be a code at all."""
    code = raw.strip().upper().replace("-", "").replace(" ", "")
    if len(code) != LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code
