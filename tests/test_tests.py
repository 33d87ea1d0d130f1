"""The test suite's own rules (STYLE.md): every test says in a docstring what it shows."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_has_a_docstring() -> None:
    """Each ``test_*`` function in tests/ has a docstring saying what it checks."""
    missing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test_")
                and not ast.get_docstring(node)
            ):
                missing.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}: {node.name}")
    assert missing == [], "tests without a docstring:\n" + "\n".join(missing)
