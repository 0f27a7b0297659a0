"""``EXPLAIN`` for any SQLAlchemy statement, with its bind parameters processed as usual.

Used by the index tests and ``bench/explain_plans.py`` to look at the plans of the very
statements the repositories run (not hand-copied SQL that could drift).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` (PostgreSQL; ``analyze`` adds ANALYZE and BUFFERS) or
    ``EXPLAIN QUERY PLAN`` (SQLite) of ``statement``."""

    inherit_cache = False

    def __init__(self, statement: Any, *, analyze: bool = False) -> None:
        self.statement = statement
        self.analyze = analyze


def _inner(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    sql = compiler.process(element.statement, **kw)
    # The rows are plan lines, not the statement's columns: without this, SQLAlchemy
    # would run e.g. the GUID result processor of ``appointments.id`` on them.
    compiler._result_columns = []
    return sql


@compiles(Explain, "postgresql")
def _explain_postgresql(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    options = "(ANALYZE, BUFFERS) " if element.analyze else ""
    return f"EXPLAIN {options}{_inner(element, compiler, **kw)}"


@compiles(Explain, "sqlite")
def _explain_sqlite(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXPLAIN QUERY PLAN {_inner(element, compiler, **kw)}"
