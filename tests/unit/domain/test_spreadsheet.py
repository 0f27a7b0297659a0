"""``safe_cell``: no cell of a CSV report opens as a formula, and nothing is lost.
Also checked through the ``csv`` module, as a spreadsheet's importer would read it."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from hduce.domain.spreadsheet import FORMULA_TRIGGERS, TEXT_MARK, safe_cell

texts = st.text()
dangerous = st.builds(
    lambda first, rest: first + rest, st.sampled_from(sorted(FORMULA_TRIGGERS)), st.text()
)


@given(texts)
def test_no_cell_starts_with_a_formula_trigger(value: str) -> None:
    assert safe_cell(value)[:1] not in FORMULA_TRIGGERS


@given(texts)
def test_the_value_is_kept_whole_behind_at_most_one_mark(value: str) -> None:
    cell = safe_cell(value)
    assert cell in (value, TEXT_MARK + value)


@given(dangerous)
def test_every_dangerous_value_is_marked(value: str) -> None:
    assert safe_cell(value) == TEXT_MARK + value


@given(texts.filter(lambda v: v[:1] not in FORMULA_TRIGGERS))
def test_harmless_values_are_untouched(value: str) -> None:
    assert safe_cell(value) == value


@given(st.lists(st.lists(texts, min_size=1, max_size=5), min_size=1, max_size=5))
def test_rows_read_back_from_csv_are_the_safe_cells(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    safe = [[safe_cell(cell) for cell in row] for row in rows]
    writer.writerows(safe)
    read = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    # A row of one empty cell is written as an empty line, which csv reads as [].
    assert [row or [""] for row in read] == safe
    assert all(cell[:1] not in FORMULA_TRIGGERS for row in read for cell in row)


def test_the_classic_payloads() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+33 6 12 34 56 78") == "'+33 6 12 34 56 78"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\t=cmd") == "'\t=cmd"
    assert safe_cell("Ana = Bob") == "Ana = Bob"
    assert safe_cell("") == ""
