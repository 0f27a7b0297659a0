"""Emails have one spelling (NFKC + casefold); free text refuses control characters
(CR/LF in one-line text, ESC and the other C0/C1 controls, bidirectional overrides)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.errors import InvalidInput
from hduce.domain.identity import normalise_email
from hduce.domain.text import plain_text, without_forbidden_characters

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


# ------------------------------------------------------------------ free text

#: One of each class refused everywhere: C0 (NUL, BEL, ESC, CR alone), DEL, C1 (NEL,
#: CSI), the bidirectional embeddings/overrides and isolates.
FORBIDDEN_EVERYWHERE = [
    "\x00",
    "\x07",
    "\x1b",
    "\r",
    "\x7f",
    "\x85",
    "\x9b",
    *(chr(code) for code in range(0x202A, 0x202F)),
    *(chr(code) for code in range(0x2066, 0x206A)),
]


@pytest.mark.parametrize("char", [*FORBIDDEN_EVERYWHERE, "\n", "\t"])
def test_single_line_text_refuses_controls(char: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        plain_text(f"Ana{char}Torres", "full_name")
    assert refused.value.field == "full_name"
    assert f"U+{ord(char):04X}" in refused.value.message


@pytest.mark.parametrize("char", FORBIDDEN_EVERYWHERE)
def test_multi_line_text_refuses_controls_but_line_breaks(char: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        plain_text(f"Rest.{char}Fluids.", "notes", multiline=True)
    assert refused.value.field == "notes"


def test_what_plain_text_keeps() -> None:
    assert plain_text("  Ana María Núñez  ", "full_name") == "Ana María Núñez"
    # Right-to-left scripts need no override characters; marks (LRM/RLM) are not controls.
    assert plain_text("محمد عبد الله", "full_name") == "محمد عبد الله"
    assert plain_text("Zoë \u200e(ゾーイ) 👩‍⚕️", "full_name") == "Zoë \u200e(ゾーイ) 👩‍⚕️"
    assert plain_text("Rest.\r\n\tFluids.\n", "notes", multiline=True) == "Rest.\n\tFluids."


def test_text_nobody_typed_here_loses_its_controls() -> None:
    assert without_forbidden_characters(" Ada\u202e\x1b Lovelace\n") == "Ada Lovelace"
