"""The migrations' revision graph, read from the scripts' text without running them.

The readiness probe of every API and worker process needs two sets: the revisions this
code knows and its heads. Alembic's ``ScriptDirectory`` imports each migration script to
read them, and the scripts import Alembic, Mako and advanced-alchemy's column types: about
20 MB more of resident memory in a process that will never migrate, held from its
first ``GET /health/ready`` on. The two names each script declares (``revision`` and
``down_revision``, plain literals by Alembic's template) are read here from the
script's syntax tree instead. ``tests/unit/adapters/test_migration_revisions.py``
checks that the answer is Alembic's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RevisionGraph:
    known: frozenset[str]
    heads: frozenset[str]


def read_revision_graph(versions: Path) -> RevisionGraph:
    """Every revision of the scripts in ``versions`` and the heads (revisions no other
    revision names as its ``down_revision``), as Alembic counts them."""
    parents: dict[str, tuple[str, ...]] = {}
    for script in sorted(versions.glob("*.py")):
        if script.name.startswith("_"):
            continue
        declared = _declared(script)
        if "revision" not in declared:
            continue  # not a migration script (Alembic skips it too)
        revision = declared["revision"]
        if not isinstance(revision, str):
            raise ValueError(f"{script.name}: revision must be a string literal")
        parents[revision] = _down_revisions(script, declared.get("down_revision"))
    below = {parent for down in parents.values() for parent in down}
    return RevisionGraph(known=frozenset(parents), heads=frozenset(parents.keys() - below))


def _declared(script: Path) -> dict[str, object]:
    """The module-level ``name = <literal>`` (or ``name: type = <literal>``) of a script."""
    values: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8"), filename=str(script)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                raise ValueError(
                    f"{script.name}: {target.id} must be a literal (string, tuple or None)"
                ) from None
    return values


def _down_revisions(script: Path, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{script.name}: down_revision must be a string, a tuple of them or None")
