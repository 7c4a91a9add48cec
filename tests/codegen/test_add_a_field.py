"""Adding a field to `JobSpec` in a scratch copy of the tree: every consumer picks it up or fails its type
check naming the place.

The copy holds the contracts, the Python packages and the dApp's sources; `python -m codegen --root` writes
its views there. Then: the contracts still compile and their ABI carries the field; the Python structs
encode and decode it; the index refuses to run without a column for it and names the migration to write;
mypy and tsc fail exactly at the code that builds a full spec by hand, naming the field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chain import REPO_ROOT

pytestmark = pytest.mark.chain  # compiles the contracts with solc (Node) and type-checks two languages

NEW_FIELD = "maxRetries"
PYTHON_PACKAGES = ("chain", "codegen", "jobs", "api", "crowdcompute", "gateway_protocol", "cli_support")


def _copy_tree(scratch: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "dist", "*.pyc", "job_layout.py")
    for folder in (*PYTHON_PACKAGES, "contracts"):
        if (REPO_ROOT / folder).is_dir():
            shutil.copytree(REPO_ROOT / folder, scratch / folder, ignore=ignore, symlinks=True)
    shutil.rmtree(scratch / "contracts" / "generated", ignore_errors=True)
    (scratch / "frontend").mkdir()
    for name in ("tsconfig.json", "package.json"):
        shutil.copy(REPO_ROOT / "frontend" / name, scratch / "frontend" / name)
    for folder in ("src", "tests", "scripts"):
        shutil.copytree(REPO_ROOT / "frontend" / folder, scratch / "frontend" / folder, ignore=ignore)
    (scratch / "frontend" / "node_modules").symlink_to(REPO_ROOT / "frontend" / "node_modules")
    (scratch / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    shutil.copy(REPO_ROOT / "pyproject.toml", scratch / "pyproject.toml")


def _add_field(scratch: Path) -> None:
    types = scratch / "contracts" / "market" / "Types.sol"
    closing = re.compile(r"(struct JobSpec \{.*?)(\n\})", re.S)
    text, count = closing.subn(rf"\1\n    uint32 {NEW_FIELD};\2", types.read_text(), count=1)
    assert count == 1, "no `struct JobSpec { ... }` in Types.sol: update this test"
    types.write_text(text)


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(cwd), **env}
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("add_a_field")
    _copy_tree(root)
    _add_field(root)
    generated = _run([sys.executable, "-m", "codegen", "--root", str(root)], root)
    assert generated.returncode == 0, generated.stderr
    # the dApp's ABIs and API types, from the scratch contracts, as `make setup` makes them
    dapp = _run(["node", "scripts/generate.mjs"], root / "frontend", PYTHON=sys.executable)
    assert dapp.returncode == 0, dapp.stderr[-3000:]
    return root


PYTHON_CHECK = textwrap.dedent(
    """
    import dataclasses, json
    from pathlib import Path
    from chain.abi import encode_params, decode_params
    from chain.compiler import compile_contracts
    from chain.types import JOB_LAYOUT, JOB_SPEC_SIZE, Job, JobSpec

    artifacts = compile_contracts(Path.cwd())
    market = next(a for a in artifacts if a.name == "CrowdMarket")
    post = next(f for f in market.abi if f.get("name") == "postJob")
    spec_abi = post["inputs"][0]
    spec = JobSpec(budget=7, max_retries=5)
    data = encode_params([spec_abi], [spec.to_abi()])
    back = JobSpec.from_abi(decode_params([spec_abi], data)[0])
    print(json.dumps({
        "python_fields": [f.name for f in dataclasses.fields(JobSpec)],
        "abi_fields": [c["name"] for c in spec_abi["components"]],
        "round_trip": back == spec,
        "spec_size": JOB_SPEC_SIZE,
        "offsets": {".".join(f.path): f.offset for f in JOB_LAYOUT},
    }))
    """
)


def test_contracts_and_python_structs_carry_the_new_field(scratch: Path) -> None:
    checked = _run([sys.executable, "-c", PYTHON_CHECK], scratch)
    assert checked.returncode == 0, checked.stderr[-3000:]
    found = json.loads(checked.stdout.strip().splitlines()[-1])
    assert found["python_fields"][-2:] == ["result_key", "max_retries"]
    assert found["abi_fields"][-2:] == ["resultKey", NEW_FIELD]
    assert found["round_trip"] is True
    # one more word in the spec; every state field moves one word on
    assert found["spec_size"] == 0x2A0
    assert found["offsets"][f"spec.{NEW_FIELD}"] == 0x280
    assert found["offsets"]["state.provider"] == 0x2A0


def test_the_index_names_the_migration_it_needs(scratch: Path) -> None:
    script = (
        "import sqlite3\n"
        "from api.db import migrate\n"
        "from api.indexer.spec_columns import check_spec_columns\n"
        "conn = sqlite3.connect(':memory:')\n"
        "migrate(conn)\n"
        "check_spec_columns(conn)\n"
    )
    checked = _run([sys.executable, "-c", script], scratch)
    assert checked.returncode != 0
    assert "SchemaMismatchError" in checked.stderr
    assert "max_retries" in checked.stderr and "api/migrations.py" in checked.stderr


def test_mypy_names_the_hand_built_spec(scratch: Path) -> None:
    consumers = [
        "chain/types.py",
        "chain/job_store.py",
        "api/indexer/projection.py",
        "crowdcompute/requester/spec.py",
    ]
    checked = _run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", *consumers], scratch
    )
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert checked.returncode == 1, checked.stdout
    assert errors, checked.stdout
    assert all("max_retries" in line for line in errors), errors
    assert any(line.startswith("crowdcompute/requester/spec.py:") for line in errors), errors


def test_tsc_names_the_dapps_hand_built_spec(scratch: Path) -> None:
    tsc = REPO_ROOT / "frontend" / "node_modules" / ".bin" / "tsc"
    checked = _run([str(tsc), "-p", "tsconfig.json"], scratch / "frontend")
    errors = [line for line in checked.stdout.splitlines() if re.search(r"error TS\d+", line)]
    assert checked.returncode != 0, checked.stdout
    assert errors and all(NEW_FIELD in line for line in errors), checked.stdout
    assert any(line.startswith("src/lib/jobSpec.ts") for line in errors), errors
