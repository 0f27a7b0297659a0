"""The password policy (pure) and the shipped list of common passwords."""

from __future__ import annotations

import pytest

from hduce.adapters.security.passwords import load_common_passwords
from hduce.domain.credentials import (
    MAX_PASSWORD_LENGTH,
    check_password_policy,
    hash_opaque_token,
    new_opaque_token,
    normalise_password,
)
from hduce.domain.errors import InvalidInput

COMMON = frozenset({"password", "qwertyuiop", "iloveyou", "1234567890"})
EMAIL = "ana.torres@example.org"


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "Tr0ub4dor&3-xyz",
        "ñandú-cigüeña-42",
        "a" * 5 + "bcdefgh",
        "x" * 9 + "yz1",
    ],
)
def test_accepts_reasonable_passwords(password: str) -> None:
    check_password_policy(password, EMAIL, COMMON)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 10"),
        ("123456789", "at least 10"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "at most"),
        ("aaaaaaaaaaaa", "too few different"),
        ("abababababab", "too few different"),
        ("qwertyuiop", "too common"),
        ("QWERTYUIOP", "too common"),
        ("1234567890", "too common"),
        ("password2024!", "too common"),
        ("iloveyou12345", "too common"),
        ("ana.torres@example.org", "email address"),
        ("my ana.torres@example.org!", "email address"),
        ("ana.torres-2030", "name of your email"),
    ],
)
def test_refuses(password: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password_policy(password, EMAIL, COMMON)
    assert refused.value.field == "password"
    assert reason in refused.value.message


def test_short_local_parts_are_not_checked_inside_passwords() -> None:
    check_password_policy("bob-likes-long-walks", "bob@example.org", COMMON)


def test_normalisation_makes_equivalent_input_equal() -> None:
    composed, decomposed = "caf\u00e9-au-lait!", "cafe\u0301-au-lait!"
    assert composed != decomposed
    assert normalise_password(composed) == normalise_password(decomposed)
    assert normalise_password("ｆｕｌｌｗｉｄｔｈ") == "fullwidth"


def test_shipped_list_is_loaded_lower_cased_without_comments() -> None:
    common = load_common_passwords()
    assert len(common) >= 200
    assert {"password", "123456", "qwertyuiop", "password123", "iloveyou"} <= common
    assert all(entry == entry.casefold() and not entry.startswith("#") for entry in common)
    with pytest.raises(InvalidInput):
        check_password_policy("Password123", EMAIL, common)


def test_opaque_tokens_are_random_and_stored_as_sha256() -> None:
    first, second = new_opaque_token(), new_opaque_token()
    assert first != second and len(first) >= 43
    digest = hash_opaque_token(first)
    assert len(digest) == 64 and digest == hash_opaque_token(first)
    assert digest != hash_opaque_token(second)
