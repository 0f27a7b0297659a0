"""The readiness probe's revision graph, read from the scripts' text, is Alembic's."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from hduce.adapters.sql.migrations import MIGRATIONS_DIR
from hduce.adapters.sql.migrations.revisions import RevisionGraph, read_revision_graph


def _alembic(directory: Path) -> RevisionGraph:
    scripts = ScriptDirectory(str(directory))
    return RevisionGraph(
        known=frozenset(script.revision for script in scripts.walk_revisions()),
        heads=frozenset(scripts.get_heads()),
    )


def _script(versions: Path, name: str, revision: str, down: str) -> None:
    (versions / f"{name}.py").write_text(
        f'"""{name}"""\n'
        "from collections.abc import Sequence\n\n"
        f"revision: str = {revision}\n"
        f"down_revision: str | Sequence[str] | None = {down}\n"
        "branch_labels = None\n\n\n"
        "def upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )


def test_the_projects_migrations_read_as_alembic_reads_them() -> None:
    graph = read_revision_graph(MIGRATIONS_DIR / "versions")
    assert graph == _alembic(MIGRATIONS_DIR)
    assert len(graph.heads) == 1
    assert len(graph.known) >= 21


def test_branches_and_merges_read_as_alembic_reads_them(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _script(versions, "a", '"a"', "None")
    _script(versions, "b", '"b"', '"a"')
    _script(versions, "c", "'c'", '"a"')
    _script(versions, "d", '"d"', '("b", "c")')  # a merge
    _script(versions, "e", '"e"', '"d"')
    _script(versions, "f", '"f"', '["d"]')  # a second head
    (versions / "__init__.py").write_text("")

    graph = read_revision_graph(versions)

    assert graph == RevisionGraph(known=frozenset("abcdef"), heads=frozenset({"e", "f"}))
    assert graph == _alembic(tmp_path)


def test_a_revision_that_is_not_a_literal_is_refused(tmp_path: Path) -> None:
    _script(tmp_path, "a", '"a".upper()', "None")
    with pytest.raises(ValueError, match=r"a\.py: revision must be a literal"):
        read_revision_graph(tmp_path)
