"""Hardhat compiles the same sources with the same settings as py-solc-x and forge.

Runs the real Hardhat 3 (installed by npm with its own Node 22) on `hardhat.config.js` and compares what
it compiled with `chain.compiler`: the same project sources byte for byte, the same compiler settings, the
same ABIs, and the token's runtime bytecode once the trailing CBOR metadata is set aside.
The market's bytecode is not compared: Hardhat names sources differently (`project/contracts/...`,
`npm/@openzeppelin/contracts@5.7.0/...`), and via IR numbers the AST by source unit, so the optimizer may lay
the same code out differently (about 170 bytes apart at 1,000 runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chain import compile_contracts
from chain.compiler import load_settings, source_files

pytestmark = pytest.mark.chain  # runs Hardhat, the chain toolchain (npm)

ROOT = Path(__file__).resolve().parents[2]
EIP170_LIMIT = 24_576


def _without_metadata(code: str) -> str:
    code = code.removeprefix("0x")
    metadata_len = int(code[-4:], 16)
    return code[: -(metadata_len + 2) * 2]


@pytest.mark.slow
def test_hardhat_builds_the_same_contracts() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is needed (Node >= 20)"
    artifacts_dir = ROOT / "build" / "hardhat" / "artifacts"
    shutil.rmtree(artifacts_dir, ignore_errors=True)
    proc = subprocess.run(
        [npm, "run", "--silent", "hardhat", "--", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    [build_info] = [
        p for p in (artifacts_dir / "build-info").glob("*.json") if not p.name.endswith(".output.json")
    ]
    compiled = json.loads(build_info.read_text())["input"]
    settings = load_settings()
    for key in ("optimizer", "viaIR", "evmVersion"):
        assert compiled["settings"][key] == settings[key], key
    project = {name.removeprefix("project/"): source for name, source in compiled["sources"].items()}
    ours_sources = {path.relative_to(ROOT).as_posix() for path in source_files()}
    assert {name for name in project if name.startswith("contracts/")} == ours_sources
    for name in ours_sources:
        assert project[name]["content"] == (ROOT / name).read_text(), name

    ours = compile_contracts()
    for name in ("CrowdMarket", "CrowdToken"):
        [path] = artifacts_dir.glob(f"contracts/**/{name}.json")
        theirs = json.loads(path.read_text())
        assert theirs["abi"] == ours[name].abi
        assert len(theirs["deployedBytecode"].removeprefix("0x")) // 2 <= EIP170_LIMIT, name
    [token] = artifacts_dir.glob("contracts/**/CrowdToken.json")
    token_code = ours["CrowdToken"].deployed_bytecode
    token_hex = token_code.hex() if isinstance(token_code, bytes) else str(token_code)
    assert _without_metadata(json.loads(token.read_text())["deployedBytecode"]) == _without_metadata(
        token_hex
    )
