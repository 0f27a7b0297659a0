"""The architecture docs name only things that exist, so they cannot quietly rot.

``docs/architecture.md`` and ``docs/decisions/*.md`` point newcomers at code. Every
reference they make is resolved here against the repository:

* repository paths (``src/hduce/domain/appointments.py``, ``tests/unit/``, ...),
  relative to the repository root, optionally followed by ``::name`` or
  ``::Class.method`` (pytest node-id style), which must be defined in that file;
* dotted names starting with ``hduce.``: the longest prefix that is a module (found
  with ``importlib.util.find_spec``), and any rest must be defined in that module;
* relative Markdown links between the docs.

Names are looked up in the source (``ast``): top-level functions, classes and
assignments, names a package's ``__init__`` imports, and members of a class body.
Placeholders (``<feature>``, ``{id}``, ``*``) are not references and are skipped.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Top-level folders whose paths the docs may name.
_PATH_ROOTS = ("src", "tests", "docs", "bench", "scripts", ".ci")
_PATH = re.compile(
    r"(?<![\w./-])"  # not the middle of a longer path or URL
    r"(?P<path>(?:" + "|".join(re.escape(r) for r in _PATH_ROOTS) + r")/[\w./-]*)"
    r"(?:::(?P<symbol>[A-Za-z_][\w.]*))?"
)
_ROOT_FILE = re.compile(r"(?<![\w./-])(?P<path>pyproject\.toml|Makefile|README\.md)(?![\w/-])")
_DOTTED = re.compile(r"(?<![\w./@-])(?P<name>hduce(?:\.[A-Za-z_]\w*)+)")
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
_PLACEHOLDER = re.compile(r"[<>{}*]")


def _documents() -> list[Path]:
    return [DOCS / "architecture.md", *sorted((DOCS / "decisions").glob("*.md"))]


def _lines(document: Path) -> Iterator[tuple[int, str]]:
    yield from enumerate(document.read_text(encoding="utf-8").splitlines(), start=1)


# ------------------------------------------------------------------ name lookup


@cache
def _tree(source: Path) -> ast.Module:
    return ast.parse(source.read_text(encoding="utf-8"), filename=str(source))


def _assigned(node: ast.stmt) -> list[str]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _members(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """What a module or class body defines, by name."""
    found: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                found[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, ast.If):  # e.g. ``if TYPE_CHECKING:`` blocks
            found.update(_members(node.body))
            found.update(_members(node.orelse))
        else:
            for name in _assigned(node):
                found[name] = node
    return found


def _undefined(source: Path, symbol: str) -> str | None:
    """None when ``symbol`` (``name`` or ``Class.member``) is defined in ``source``."""
    members = _members(_tree(source).body)
    head, *rest = symbol.split(".")
    node = members.get(head)
    if node is None:
        return f"{head} is not defined in {source.relative_to(ROOT)}"
    for part in rest:
        if not isinstance(node, ast.ClassDef):
            return None  # an attribute of an imported or assigned object: not checked
        member = _members(node.body).get(part)
        if member is None:
            return f"{node.name} has no member {part} in {source.relative_to(ROOT)}"
        node = member
    return None


# ------------------------------------------------------------------ resolution


def _check_path(path: str, symbol: str | None) -> str | None:
    path = path.rstrip(".,;:")
    target = ROOT / path
    if not target.exists():
        return f"{path} does not exist"
    if path.endswith("/") and not target.is_dir():
        return f"{path} is not a directory"
    if symbol:
        if target.suffix != ".py":
            return f"{path} is not a Python file, so it defines no {symbol}"
        return _undefined(target, symbol)
    return None


def _check_dotted(name: str) -> str | None:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        rest = ".".join(parts[cut:])
        if not rest:
            return None
        if spec.origin is None or not spec.origin.endswith(".py"):
            return f"{module} has no Python source to look {rest} up in"
        origin = Path(spec.origin)
        if not origin.is_relative_to(ROOT):
            return f"{module} resolves outside this repository ({origin})"
        problem = _undefined(origin, rest)
        if problem and origin.name == "__init__.py":
            return f"no module {module}.{parts[cut]}, nor a name {parts[cut]} in {module}"
        return problem
    return f"no module {name}"


def _check_link(document: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None  # a URL or an anchor in the same document
    path = target.split("#", 1)[0]
    if not (document.parent / path).resolve().exists():
        return f"link target {target} does not exist"
    return None


def _references(document: Path) -> Iterator[tuple[str, str | None]]:
    """(reference as written, why it does not resolve or None) for one document."""
    for _, line in _lines(document):
        for match in _PATH.finditer(line):
            written = match.group(0)
            if _PLACEHOLDER.search(written):
                continue
            symbol = (match.group("symbol") or "").rstrip(".") or None
            yield written, _check_path(match.group("path"), symbol)
        for match in _ROOT_FILE.finditer(line):
            yield match.group("path"), _check_path(match.group("path"), None)
        for match in _DOTTED.finditer(line):
            name = match.group("name").rstrip(".")
            yield name, _check_dotted(name)
        for match in _LINK.finditer(line):
            target = match.group("target")
            yield target, _check_link(document, target)


def unresolved_references() -> dict[str, list[str]]:
    """Per document (relative path), every reference that does not resolve."""
    return {
        str(document.relative_to(ROOT)): [
            f"{written}: {problem}"
            for written, problem in _references(document)
            if problem is not None
        ]
        for document in _documents()
    }


# ------------------------------------------------------------------ tests


def test_the_docs_exist() -> None:
    assert (DOCS / "architecture.md").is_file()
    assert (DOCS / "decisions" / "README.md").is_file()
    records = sorted((DOCS / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert records, "no decision records in docs/decisions/"


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.name)
def test_every_reference_resolves(document: Path) -> None:
    problems = sorted(
        {f"{written}: {problem}" for written, problem in _references(document) if problem}
    )
    assert not problems, f"{document.relative_to(ROOT)} names what does not exist:\n" + "\n".join(
        problems
    )


def test_the_checker_sees_the_references() -> None:
    """Guards the checker itself: the architecture doc is full of references."""
    found = list(_references(DOCS / "architecture.md"))
    assert len(found) > 100
    assert any("::" in written for written, _ in found)
    assert any(written.startswith("hduce.") for written, _ in found)


def test_the_decision_index_lists_every_record() -> None:
    index = (DOCS / "decisions" / "README.md").read_text(encoding="utf-8")
    for record in sorted((DOCS / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md")):
        assert f"]({record.name})" in index, f"{record.name} is missing from the index"


def test_the_checker_refuses_what_does_not_exist() -> None:
    assert _check_path("src/hduce/domain/no_such_module.py", None)
    assert _check_path("src/hduce/domain/scheduling.py", "no_such_function")
    assert _check_path("src/hduce/domain/scheduling.py", "SchedulingPolicy.no_such_method")
    assert _check_path("src/hduce/domain/scheduling.py", "SchedulingPolicy.check_in_window") is None
    assert _check_dotted("hduce.domain.no_such_module")
    assert _check_dotted("hduce.domain.scheduling.no_such_function")
    assert _check_dotted("hduce.domain.scheduling.find_conflicts") is None
