"""The import scanner and the rules that tests/test_import_rule.py enforces (docs/architecture.md).

Every import is read from the syntax tree of every .py file, wherever it sits (top level, inside a
function, under `if TYPE_CHECKING:`), relative imports resolved against the file's package, and
`importlib.import_module("...")` / `__import__("...")` with a literal name counted as imports too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Our top-level packages and folders of importable code (pyproject's known-first-party, plus the rest).
OURS = frozenset(
    {
        "api",
        "bench",
        "chain",
        "cli_support",
        "codegen",
        "crowdcompute",
        "gateway_protocol",
        "jobs",
        "node_base",
        "provider_node",
        "runtime",
        "scripts",
        "sdk",
        "tests",
        "validator",
    }
)


@dataclass(frozen=True)
class Rule:
    """What a folder may import of ours (dotted prefixes; its own package always), and, if `third_party`
    is set, of the rest. `exempt`: files or subfolders (relative to the folder) the rule leaves out."""

    may_import: frozenset[str]
    why: str
    third_party: frozenset[str] | None = None  # None: any installed package; else only these (and stdlib)
    exempt: frozenset[str] = frozenset()


# The shared layers below the roles, each with one job (docs/architecture.md).
LOWER = frozenset({"chain", "jobs", "gateway_protocol", "cli_support", "node_base"})
ROLE = (
    "the roles api/, provider_node/ and validator/ never import each other: "
    "move what they share down into a shared layer (chain, jobs, gateway_protocol, cli_support, node_base)"
)
BELOW = "{}/ is a shared layer below the roles and crowdcompute/: it may use chain/ and jobs/ only"
RULES: dict[str, Rule] = {
    "api": Rule(LOWER, ROLE),
    "provider_node": Rule(LOWER, ROLE),
    "validator": Rule(LOWER, ROLE),
    # sdk/ (below everything: it imports nothing of ours) holds the one definition of a checkpoint's digest;
    # the requester re-hashes a downloaded result's checkpoints with it (when torch is installed).
    "crowdcompute": Rule(
        LOWER | {"sdk"},
        "only the entry points (crowdcompute/cli.py, the demo) mount the roles; "
        "the other commands and libraries of crowdcompute/ use the shared layers",
        exempt=frozenset({"cli.py", "demo"}),
    ),
    "crowdcompute/requester": Rule(
        (LOWER - {"node_base"}) | {"sdk"},
        "the requester library imports no role (api/, provider_node/, validator/) and no entry point",
    ),
    "runtime": Rule(LOWER, "runtime/ builds the job image: it may use the shared layers, never a role"),
    "gateway_protocol": Rule(frozenset({"chain", "jobs"}), BELOW.format("gateway_protocol")),
    "cli_support": Rule(frozenset({"chain", "jobs"}), BELOW.format("cli_support")),
    "node_base": Rule(frozenset({"chain", "jobs"}), BELOW.format("node_base")),
    "chain": Rule(frozenset(), "chain/ is the bottom layer: it imports nothing of ours"),
    "codegen": Rule(
        frozenset(),
        "codegen/ runs before the packages it writes into exist (make setup): it imports nothing of ours",
    ),
    "jobs": Rule(
        frozenset({"chain.types"}), "jobs/ may use chain's types only (chain/types.py), nothing above it"
    ),
    "scripts": Rule(
        frozenset({"chain", "jobs", "cli_support"}),
        "scripts/ are thin wrappers over chain/, jobs/ and cli_support/",
    ),
    # sdk/ runs inside the job's container, whose image holds torch and numpy (runtime/requirements.txt)
    # and nothing else of ours or of PyPI.
    "sdk": Rule(
        frozenset(),
        "sdk/ runs in the job container: torch, numpy and the standard library only",
        frozenset({"torch", "numpy"}),
    ),
}


@dataclass(frozen=True)
class Import:
    name: str  # dotted; `from a.b import c` gives "a.b.c" (c a module of a.b or a name in it)
    line: int


def _resolve(level: int, module: str | None, package: str) -> str | None:
    """`from ..x import y` in package `a.b` -> `a.x`; None when it climbs above the top level."""
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or (level - 1 == len(parts) and not module):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dynamic(call: ast.Call, package: str) -> str | None:
    """The literal name given to `importlib.import_module(...)`, `import_module(...)` or `__import__(...)`."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in ("import_module", "__import__") or not call.args:
        return None
    target = _literal(call.args[0])
    if target is None or not target.startswith("."):
        return target
    anchor = _literal(call.args[1]) if len(call.args) > 1 else None
    anchor = anchor or next((_literal(k.value) for k in call.keywords if k.arg == "package"), None) or package
    stripped = target.lstrip(".")
    return _resolve(len(target) - len(stripped), stripped or None, anchor)


def imports_of(source: str, package: str = "") -> list[Import]:
    """Every module `source` imports; `package` is the dotted package the file belongs to."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module if node.level == 0 else _resolve(node.level, node.module, package)
            if base is None:
                found.append(Import("." * node.level + (node.module or ""), node.lineno))
                continue
            found += [
                Import(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno)
                for alias in node.names
            ]
        elif isinstance(node, ast.Call):
            name = _dynamic(node, package)
            if name:
                found.append(Import(name, node.lineno))
    return found


def _within(name: str, prefixes: frozenset[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(source: str, folder: str, package: str, where: str = "<source>") -> list[str]:
    """The imports of `source` (a file of `folder`, in `package`) that `RULES[folder]` forbids."""
    rule = RULES[folder]
    own = frozenset({folder.replace("/", ".")})
    problems = []
    for imported in imports_of(source, package):
        top = imported.name.split(".")[0]
        if _within(imported.name, own) or not top:
            continue
        if top in OURS:
            allowed = _within(imported.name, rule.may_import)
        elif rule.third_party is not None:
            allowed = top in sys.stdlib_module_names or top in rule.third_party
        else:
            allowed = True
        if not allowed:
            problems.append(f"{where}:{imported.line}: {folder}/ imports {imported.name}: {rule.why}")
    return problems


def package_files(folder: str, root: Path = ROOT) -> Iterator[tuple[Path, str]]:
    """Each .py file under `root/folder` and the dotted package it belongs to."""
    for path in sorted((root / folder).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(root).with_suffix("").parts
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        yield path, package.removesuffix(".__init__")


def folder_violations(folder: str, root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    exempt = [root / folder / name for name in RULES[folder].exempt]
    for path, package in package_files(folder, root):
        if any(path == place or place in path.parents for place in exempt):
            continue
        source = path.read_text(encoding="utf-8")
        problems += violations(source, folder, package, str(path.relative_to(root)))
    return problems
