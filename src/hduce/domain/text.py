"""Text that people type and other people read: names, reasons, notes, descriptions.

Such text ends up in emails, SMS, calendar files and admin screens, where control
characters do harm: CR/LF forge lines (or mail headers), ESC drives terminals, and
the Unicode bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069)
show text in another order than it is stored ("Trojan Source"). ``plain_text`` is
the one check every such value passes where it enters the system; a refusal is
``InvalidInput`` naming the field (HTTP 400).
"""

from __future__ import annotations

from hduce.domain.errors import InvalidInput

#: Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
#: What multi-line text may keep: line feeds and tabs.
_MULTILINE_ALLOWED = frozenset("\n\t")


def is_forbidden_character(char: str, *, multiline: bool = False) -> bool:
    """C0 controls, DEL, C1 controls and the bidirectional controls; in multi-line
    text, line feeds and tabs are allowed."""
    if multiline and char in _MULTILINE_ALLOWED:
        return False
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS


def plain_text(value: str, field: str, *, multiline: bool = False) -> str:
    """``value`` stripped of surrounding whitespace, or ``InvalidInput`` for ``field``
    when it holds a forbidden character (``is_forbidden_character``). Multi-line text
    (notes, descriptions) keeps its line breaks, CR LF turned into LF; single-line text
    (names, and reasons, which are quoted in emails and SMS) keeps none."""
    text = value.replace("\r\n", "\n") if multiline else value
    for char in text:
        if is_forbidden_character(char, multiline=multiline):
            raise InvalidInput(
                f"{field} may not contain control characters (found U+{ord(char):04X})",
                field=field,
            )
    return text.strip()


def without_forbidden_characters(value: str) -> str:
    """``value`` with what ``plain_text`` refuses removed, for text that nobody typed
    here and that cannot be sent back (e.g. the name an identity provider gives)."""
    return "".join(char for char in value if not is_forbidden_character(char)).strip()
