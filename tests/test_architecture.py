"""The rules of DESIGN.md §3 that an import contract cannot see, checked on the source.

- Only the unit of work commits: ``core/db.py`` holds the one ``.commit()`` (API requests and
  pages reach it through ``core/uow.py``, background work through ``db.transaction``).
- No ``rapport`` import sits inside a function, where it would hide an import cycle from
  ``lint-imports`` and from the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rapport"
UNIT_OF_WORK = {"core/db.py"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(SRC).as_posix(), ast.parse(path.read_text(), str(path)))
        for path in sorted(SRC.rglob("*.py"))
    ]


def test_only_the_unit_of_work_commits() -> None:
    found = [
        f"{name}:{node.lineno}"
        for name, tree in _modules()
        if name not in UNIT_OF_WORK
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]
    assert found == [], f"commit outside the unit of work ({', '.join(UNIT_OF_WORK)}): {found}"


def _imports_rapport(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "rapport" for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] == "rapport"
    return False


def _function_level_imports(tree: ast.Module) -> list[int]:
    lines = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lines += [n.lineno for n in ast.walk(function) if _imports_rapport(n)]
    return sorted(set(lines))


def test_no_rapport_import_inside_a_function() -> None:
    found = {name: lines for name, tree in _modules() if (lines := _function_level_imports(tree))}
    assert found == {}, f"import at the top of the module (or invert the dependency): {found}"


def test_the_checks_see_what_they_look_for() -> None:
    """The scans would pass vacuously if they found no source or missed the known cases."""
    modules = dict(_modules())
    assert "core/db.py" in modules
    assert _function_level_imports(ast.parse("def f():\n    from rapport.core import db\n"))
    assert not _function_level_imports(ast.parse("from rapport.core import db\n"))
    assert not _function_level_imports(ast.parse("def f():\n    import json\n"))
    assert any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "commit"
        for n in ast.walk(modules["core/db.py"])
    )
