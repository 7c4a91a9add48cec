"""The test suite's own layout: every folder of Python tests is a package, helpers are imported by package
path (`from tests.validator.cheaters import ...`, never `from cheaters import ...`), and every Python test
is named in snake_case. Job folders packed into bundles (they hold a job.toml) stay plain folders.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SNAKE_CASE = re.compile(r"test_[a-z0-9_]+|test")


def python_files() -> list[Path]:
    return [p for p in sorted(TESTS.rglob("*.py")) if "__pycache__" not in p.parts and not in_a_job(p)]


def in_a_job(path: Path) -> bool:
    """A file of a job folder (one with a job.toml, at any level up to tests/)."""
    return any((folder / "job.toml").exists() for folder in path.parents if folder.is_relative_to(TESTS))


def test_every_folder_of_python_tests_is_a_package() -> None:
    folders = {folder for path in python_files() for folder in path.parents if folder.is_relative_to(TESTS)}
    missing = sorted(str(f.relative_to(TESTS.parent)) for f in folders if not (f / "__init__.py").exists())
    assert missing == []


def test_helpers_are_imported_by_package_path() -> None:
    helpers = {p.stem for p in python_files()} - {"__init__", "conftest"}
    bare = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            bare += [f"{path.relative_to(TESTS.parent)}:{node.lineno}: {n}" for n in names if n in helpers]
    assert bare == [], "import these as tests.<folder>.<module>"


def collected_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """What pytest collects by name: module-level functions and the methods of `Test*` classes."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found += [n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return found


def test_every_python_test_is_named_in_snake_case() -> None:
    wrong = [
        f"{path.relative_to(TESTS.parent)}:{node.lineno}: {node.name}"
        for path in python_files()
        if path.name.startswith("test_")
        for node in collected_functions(ast.parse(path.read_text(encoding="utf-8")))
        if node.name.startswith("test") and not SNAKE_CASE.fullmatch(node.name)
    ]
    assert wrong == []
