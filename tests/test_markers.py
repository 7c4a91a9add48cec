"""The markers `chain`, `docker` and `browser` leave out of `make test-fast` exactly the tests that need
anvil, a Docker engine or Chromium, and no other.

Read from the syntax tree of every conftest.py and test module, as tests/test_import_rule.py reads imports:
a fixture or test *needs* a dependency when its body reaches for it (`AnvilProcess(...)`,
`docker.from_env()`, `ensure_docker()`, a `"hardhat"` command, Chromium, ...), when it calls a helper of its
module that does, or when it asks for a fixture that needs it (resolved as pytest does: the module's own
fixtures, then the nearest conftest.py upwards). tests/conftest.py's `NEEDS` marks a test by the fixtures in
its closure; a module `pytestmark` or a decorator marks the rest. The checks fail when a fixture that needs
a dependency is not covered by `NEEDS`, when a test needs one its markers do not name, and when a test this
session runs holds a fixture that needs one without the marker. The scanner checks itself first.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import NEEDS

TESTS = Path(__file__).resolve().parent
MARKERS = tuple(NEEDS)


@dataclass(frozen=True)
class Evidence:
    """What in a function's body shows that it needs a dependency."""

    names: frozenset[str] = frozenset()  # a name or attribute used: `AnvilProcess`, `x.ensure_docker`
    dotted: frozenset[str] = frozenset()  # an attribute of a module: `docker.from_env`
    strings: frozenset[str] = frozenset()  # a string constant, as in a command line: "hardhat"


EVIDENCE: dict[str, Evidence] = {
    "chain": Evidence(
        names=frozenset({"AnvilProcess", "DemoStack", "devnet_app"}),
        strings=frozenset({"anvil", "forge", "hardhat"}),
    ),
    "docker": Evidence(
        names=frozenset({"ensure_docker", "build_test_image", "build_runtime_image", "DockerClient"}),
        dotted=frozenset({"docker.from_env"}),
        strings=frozenset({"docker", "dockerd"}),
    ),
    "browser": Evidence(
        names=frozenset({"CHROMIUM", "chromium"}),
        strings=frozenset({"chromium", "playwright-core"}),
    ),
}


def direct_needs(node: ast.AST, evidence: Mapping[str, Evidence] = EVIDENCE) -> dict[str, int]:
    """The dependencies `node`'s own code reaches for, each with the first line that shows it."""
    found: dict[str, int] = {}
    for child in ast.walk(node):
        used: set[str] = set()
        if isinstance(child, ast.Name):
            used.add(child.id)
        elif isinstance(child, ast.Attribute):
            used.add(child.attr)
            if isinstance(child.value, ast.Name):
                used.add(f"{child.value.id}.{child.attr}")
        strings = {child.value} if isinstance(child, ast.Constant) and isinstance(child.value, str) else set()
        for marker, shows in evidence.items():
            if used & (shows.names | shows.dotted) or strings & shows.strings:
                found.setdefault(marker, child.lineno if hasattr(child, "lineno") else 0)
    return found


def _mark_names(node: ast.expr) -> set[str]:
    """`pytest.mark.x`, `pytest.mark.x(...)`, or a list or tuple of them -> {"x", ...}."""
    if isinstance(node, ast.List | ast.Tuple):
        return {name for element in node.elts for name in _mark_names(element)}
    if isinstance(node, ast.Call):
        node = node.func
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
    ):
        return {node.attr}
    return set()


def _is_fixture(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
            isinstance(target, ast.Name) and target.id == "fixture"
        ):
            return True
    return False


def _requested(function: ast.FunctionDef) -> list[str]:
    """The fixtures a function asks for: its parameters, `usefixtures` and literal `getfixturevalue`s."""
    names = [a.arg for a in [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]]
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _mark_names(decorator) == {"usefixtures"}:
            names += [
                a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
    for child in ast.walk(function):
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr == "getfixturevalue"
            and child.args
            and isinstance(child.args[0], ast.Constant)
        ):
            names.append(str(child.args[0].value))
    return [name for name in names if name not in ("self", "cls", "request")]


@dataclass
class Function:
    """A fixture, test or module helper, as the scanner sees it."""

    module: Module
    node: ast.FunctionDef | ast.ClassDef
    direct: dict[str, int]

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def where(self) -> str:
        return f"{self.module.label}:{self.node.lineno}"


@dataclass
class Module:
    path: Path
    label: str  # the path as reports name it
    is_conftest: bool
    marks: set[str] = field(default_factory=set)  # its `pytestmark`
    fixtures: dict[str, Function] = field(default_factory=dict)
    tests: list[Function] = field(default_factory=list)
    helpers: dict[str, Function] = field(default_factory=dict)  # module-level functions and classes


def read_module(path: Path, label: str, evidence: Mapping[str, Evidence] = EVIDENCE) -> Module:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = Module(path, label, path.name == "conftest.py")
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            module.marks |= _mark_names(node.value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = Function(module, node, direct_needs(node, evidence))  # type: ignore[arg-type]
            if _is_fixture(node):  # type: ignore[arg-type]
                module.fixtures[node.name] = function
            elif node.name.startswith("test") and not module.is_conftest:
                module.tests.append(function)
            else:
                module.helpers[node.name] = function
        elif isinstance(node, ast.ClassDef):
            module.helpers[node.name] = Function(module, node, direct_needs(node, evidence))
    return module


class Suite:
    """Every conftest.py and test module under `root`, with pytest's fixture lookup and what each needs."""

    def __init__(self, root: Path, evidence: Mapping[str, Evidence] = EVIDENCE) -> None:
        self.root = root
        self.modules: dict[Path, Module] = {}
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts or path == Path(__file__).resolve():
                continue
            if path.name == "conftest.py" or (path.name.startswith("test_") and path.suffix == ".py"):
                self.modules[path] = read_module(path, str(path.relative_to(root.parent)), evidence)
        self._needs: dict[tuple[int, Path], dict[str, str]] = {}

    def conftests_above(self, path: Path) -> Iterator[Module]:
        folder = path.parent
        while True:
            conftest = self.modules.get(folder / "conftest.py")
            if conftest is not None:
                yield conftest
            if folder == self.root or folder == folder.parent:
                return
            folder = folder.parent

    def resolve(self, name: str, path: Path, *, skip: Function | None = None) -> Function | None:
        """The fixture `name` as a test or fixture of the file at `path` gets it (None: pytest's own)."""
        scopes = [self.modules[path]] if path in self.modules and path.name != "conftest.py" else []
        scopes += list(self.conftests_above(path))
        passed = skip is None
        for module in scopes:
            found = module.fixtures.get(name)
            if found is None:
                continue
            if not passed:  # a fixture that overrides its namesake: look further up
                passed = found is skip
                continue
            return found
        return None

    def closure(self, function: Function, path: Path | None = None) -> set[str]:
        """The names of every fixture `function` brings in, transitively (pytest's `fixturenames`)."""
        path = path or function.module.path
        seen: set[str] = set()
        pending: list[tuple[str, Function | None]] = [
            (n, function if n == function.name else None)
            for n in _requested(function.node)  # type: ignore[arg-type]
        ]
        while pending:
            name, skip = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            found = self.resolve(name, path, skip=skip)
            if found is not None:
                pending += [(n, found if n == name else None) for n in _requested(found.node)]  # type: ignore[arg-type]
        return seen

    def needs(self, function: Function, path: Path | None = None) -> dict[str, str]:
        """Each dependency `function` needs, with why: its own code, a helper it calls, or a fixture."""
        path = path or function.module.path
        key = (id(function), path)
        if key in self._needs:
            return self._needs[key]
        self._needs[key] = {}  # cycles add nothing
        label = function.module.label
        found = {marker: f"{label}:{line} reaches for it" for marker, line in function.direct.items()}
        called = {n.id for n in ast.walk(function.node) if isinstance(n, ast.Name)}
        for helper_name in sorted(called & set(function.module.helpers)):
            helper = function.module.helpers[helper_name]
            if helper is not function:
                for marker in self.needs(helper, path):
                    found.setdefault(marker, f"{function.where} calls {helper_name}, which needs it")
        if isinstance(function.node, ast.FunctionDef):
            for name in _requested(function.node):
                fixture = self.resolve(name, path, skip=function if name == function.name else None)
                if fixture is not None:
                    for marker in self.needs(fixture, path):
                        found.setdefault(
                            marker, f"{function.where} asks for fixture {name!r}, which needs it"
                        )
        self._needs[key] = found
        return found

    def fixtures(self) -> Iterator[Function]:
        for module in self.modules.values():
            yield from module.fixtures.values()

    def tests(self) -> Iterator[Function]:
        for module in self.modules.values():
            yield from module.tests


def marked_by_fixtures(closure: set[str], needs: Mapping[str, frozenset[str]]) -> set[str]:
    """What tests/conftest.py's hook adds for a test whose fixture closure is `closure`."""
    return {marker for marker, fixtures in needs.items() if closure & fixtures}


def _decorator_marks(function: Function) -> set[str]:
    return {name for d in function.node.decorator_list for name in _mark_names(d)}


def uncovered_fixtures(suite: Suite, needs: Mapping[str, frozenset[str]] = NEEDS) -> list[str]:
    """Fixtures that need a dependency which neither `needs` (through their closure) nor their module's
    `pytestmark` would put on the tests that use them."""
    problems = []
    for fixture in suite.fixtures():
        covered = marked_by_fixtures(suite.closure(fixture) | {fixture.name}, needs)
        if not fixture.module.is_conftest:
            covered |= fixture.module.marks
        for marker, why in sorted(suite.needs(fixture).items()):
            if marker not in covered:
                problems.append(
                    f"fixture {fixture.name!r} ({fixture.where}) needs {marker} ({why}): add it to NEEDS"
                    f"[{marker!r}] in tests/conftest.py"
                )
    return problems


def unmarked_tests(suite: Suite, needs: Mapping[str, frozenset[str]] = NEEDS) -> list[str]:
    """Tests that need a dependency their markers (module, decorator, or the hook's) do not name."""
    problems = []
    for test in suite.tests():
        marks = test.module.marks | _decorator_marks(test) | marked_by_fixtures(suite.closure(test), needs)
        for marker, why in sorted(suite.needs(test).items()):
            if marker not in marks:
                problems.append(
                    f"{test.module.label}::{test.name} needs {marker} ({why}) but is not marked {marker}"
                )
    return problems


# -- the scanner checks itself ------------------------------------------------------------------------

SYNTHETIC_NEEDS = {"chain": frozenset({"anvil"}), "docker": frozenset({"engine"}), "browser": frozenset()}


def _write(root: Path, files: Mapping[str, str]) -> Suite:
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(source))
    return Suite(root)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    with AnvilProcess() as node: pass\n", {"chain"}),
        ("def f():\n    client = docker.from_env()\n", {"docker"}),
        ("def f(images):\n    images.ensure_docker()\n", {"docker"}),
        ("def f():\n    subprocess.run([npm, 'run', 'hardhat'])\n", {"chain"}),
        ("def f():\n    assert CHROMIUM.is_file()\n", {"browser"}),
        ("def f():\n    def inner():\n        return DemoStack()\n", {"chain"}),
        ("def f(tmp_path):\n    assert 'anvil is gone' in str(tmp_path)\n", set()),
        ("def f():\n    executor = DockerExecutor(fake_engine)\n", set()),
    ],
)
def test_scanner_sees_what_a_body_reaches_for(source: str, expected: set[str]) -> None:
    assert set(direct_needs(ast.parse(source))) == expected


def test_scanner_reads_marks_of_the_module_and_of_decorators(tmp_path: Path) -> None:
    suite = _write(
        tmp_path / "tests",
        {
            "test_a.py": """
                import pytest
                pytestmark = [pytest.mark.slow, pytest.mark.chain]
                @pytest.mark.docker
                def test_x(): ...
            """,
        },
    )
    (module,) = suite.modules.values()
    assert module.marks == {"slow", "chain"} and _decorator_marks(module.tests[0]) == {"docker"}


def test_scanner_follows_fixtures_as_pytest_resolves_them(tmp_path: Path) -> None:
    suite = _write(
        tmp_path / "tests",
        {
            "conftest.py": """
                import pytest
                @pytest.fixture
                def anvil():
                    with AnvilProcess() as node:
                        yield node
                @pytest.fixture
                def market(anvil): ...
                @pytest.fixture
                def store(): ...
            """,
            "roles/conftest.py": """
                import pytest
                @pytest.fixture
                def store(market): ...
            """,
            "roles/test_role.py": "def test_uses_store(store): ...\n",
            "test_top.py": "def test_uses_store(store): ...\n",
        },
    )
    tests = {t.module.label: t for t in suite.tests()}
    role, top = tests["tests/roles/test_role.py"], tests["tests/test_top.py"]
    assert suite.closure(role) == {"store", "market", "anvil"} and set(suite.needs(role)) == {"chain"}
    assert suite.closure(top) == {"store"} and suite.needs(top) == {}
    assert unmarked_tests(suite, SYNTHETIC_NEEDS) == []  # the hook marks the role test by `anvil`


def test_scanner_catches_an_uncovered_fixture_and_an_unmarked_test(tmp_path: Path) -> None:
    suite = _write(
        tmp_path / "tests",
        {
            "conftest.py": """
                import pytest
                @pytest.fixture
                def engine():
                    return docker.from_env()
                @pytest.fixture
                def image(engine): ...
                @pytest.fixture
                def client():
                    return docker.from_env()  # not in NEEDS, nor behind a fixture that is
            """,
            "test_jobs.py": """
                import pytest
                def start_chain():
                    return AnvilProcess()
                def test_image(image): ...
                def test_client(client): ...
                def test_own_chain():
                    start_chain()
                @pytest.mark.chain
                def test_own_chain_marked():
                    start_chain()
                def test_nothing(tmp_path): ...
            """,
        },
    )
    assert [p.split(" (")[0] for p in uncovered_fixtures(suite, SYNTHETIC_NEEDS)] == ["fixture 'client'"]
    assert [p.split(" needs ")[0] for p in unmarked_tests(suite, SYNTHETIC_NEEDS)] == [
        "tests/test_jobs.py::test_client",
        "tests/test_jobs.py::test_own_chain",
    ]


# -- the real suite -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite() -> Suite:
    return Suite(TESTS)


def test_the_scan_sees_the_heavy_fixtures(suite: Suite) -> None:
    """A blind scan would pass everything: it must find the fixtures that really start anvil and Docker."""
    heavy = {f.name: set(suite.needs(f)) for f in suite.fixtures() if suite.needs(f)}
    assert heavy["anvil"] == {"chain"} and "chain" in heavy["market"]
    assert heavy["docker_client"] == {"docker"} and "docker" in heavy["make_committee"]
    assert len(list(suite.tests())) > 500


def test_every_fixture_that_needs_a_dependency_is_covered_by_needs(suite: Suite) -> None:
    assert uncovered_fixtures(suite) == []


def test_every_test_that_needs_a_dependency_is_marked(suite: Suite) -> None:
    assert unmarked_tests(suite) == []


def test_this_sessions_tests_carry_the_markers_their_fixtures_need(
    request: pytest.FixtureRequest, suite: Suite
) -> None:
    """The hook really ran, before `-m` chose: every test selected here holds the markers its fixtures need
    and none that the `-m` expression leaves out."""
    excluded = {m for m in MARKERS if re.search(rf"\bnot\s+{m}\b", request.config.option.markexpr or "")}
    problems = []
    for item in request.session.items:
        path = Path(str(item.path)).resolve()
        if path not in suite.modules:
            continue
        marks = {mark.name for mark in item.iter_markers()}
        for name in getattr(item, "fixturenames", ()):
            fixture = suite.resolve(name, path)
            for marker in suite.needs(fixture, path) if fixture else ():
                if marker not in marks:
                    problems.append(f"{item.nodeid} holds fixture {name!r}, which needs {marker}, unmarked")
        if marks & excluded:
            problems.append(f"{item.nodeid} is marked {sorted(marks & excluded)} yet selected")
    assert problems == []
