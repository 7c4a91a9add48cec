"""Hardhat compiles the same sources with the same settings as py-solc-x and forge.

Runs the real Hardhat 3 (installed by npm with its own Node 22) on `hardhat.config.js` and compares its
artifacts with `chain.compiler`'s: same ABI, and the same runtime bytecode once the trailing CBOR metadata
(which hashes source paths, and Hardhat names sources differently) is set aside.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chain import compile_contracts

pytestmark = pytest.mark.chain  # runs Hardhat, the chain toolchain (npm)

ROOT = Path(__file__).resolve().parents[2]


def _without_metadata(code: str) -> str:
    code = code.removeprefix("0x")
    metadata_len = int(code[-4:], 16)
    return code[: -(metadata_len + 2) * 2]


@pytest.mark.slow
def test_hardhat_builds_identical_bytecode() -> None:
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

    ours = compile_contracts()
    for name in ("CrowdMarket", "CrowdToken"):
        [path] = artifacts_dir.glob(f"contracts/**/{name}.json")
        theirs = json.loads(path.read_text())
        assert theirs["abi"] == ours[name].abi
        ours_code = ours[name].deployed_bytecode
        ours_hex = ours_code.hex() if isinstance(ours_code, bytes) else str(ours_code)
        assert _without_metadata(theirs["deployedBytecode"]) == _without_metadata(ours_hex)
