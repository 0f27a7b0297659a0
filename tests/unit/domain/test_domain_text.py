"""Emails have one spelling (NFKC + casefold); free text refuses control characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.identity import normalise_email

# ------------------------------------------------------------------ emails


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ana@example.org", "ana@example.org"),
        ("  Ana@Example.ORG ", "ana@example.org"),
        ("ａｎａ@example.org", "ana@example.org"),  # fullwidth letters
        ("ＡＮＡ＠ＥＸＡＭＰＬＥ．ＯＲＧ", "ana@example.org"),  # fullwidth everything
        ("Straße@example.org", "strasse@example.org"),  # case folding, not lower()
        ("ﬁona@example.org", "fiona@example.org"),  # ligature
        ("ana@example.org\u3000", "ana@example.org"),  # ideographic space
    ],
)
def test_confusable_spellings_of_an_email_are_one(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "ana\x1b@example.org",  # ESC
        "ana\x00@example.org",  # NUL
        "ana\x85@example.org",  # C1 next line
        "ana\u202e@example.org",  # right-to-left override
        "ana\u2066@example.org",  # left-to-right isolate
        "ana@example.org\r\nBcc: x@example.org",
        "not an email",
    ],
)
def test_control_characters_make_no_email(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_email(typed)
    assert refused.value.field == "email"


@given(st.text(max_size=40))
def test_the_spelling_is_stable(raw: str) -> None:
    """What is stored is found again: normalising a normalised email changes nothing."""
    try:
        once = normalise_email(raw + "@example.org")
    except InvalidInput:
        return
    assert normalise_email(once) == once
    assert once == once.lower()  # the database's check constraint
