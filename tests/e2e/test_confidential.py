"""Confidential jobs through the whole system: `crowdcompute demo --confidential --exit` as a user runs it.

The requester seals the digits job before it leaves the machine, its key agent releases the content key to the
provider whose claim is mined, the provider re-seals the keys to the committee and seals the result to the
requester. The tests check that the job is verified and its model opens on download, that neither the
content store nor the gateway ever held a plaintext byte of it (every stored block and the gateway's files
are scanned for pieces of the job's code and of the trained model), and that the cheats still lose: a
provider forging checkpoints, and one that never seals the keys to the committee (`KeyWithheld`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chain import DEV_ADDRESSES
from crowdcompute.demo.stack import CHEATER_ACCOUNT
from tests.e2e.test_demo import _assert_nothing_left, _run_demo

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.docker]


def _pieces(path: Path, size: int = 48, count: int = 12) -> list[bytes]:
    """Up to `count` distinct `size`-byte windows spread over the file, each varied enough (at least 20
    different byte values) that finding it elsewhere means the plaintext is there: no zero padding, no
    file-format header every such file shares."""
    data = path.read_bytes()
    assert len(data) >= size, f"{path} is too short to draw markers from"
    step = max(1, (len(data) - size) // (count * 8))
    windows = (data[i : i + size] for i in range(0, len(data) - size + 1, step))
    varied = sorted({w for w in windows if len(set(w)) >= 20})
    assert varied, f"{path} has no varied window to draw markers from"
    return varied[:: max(1, len(varied) // count)][:count]


def _files_holding(folders: list[Path], markers: list[bytes]) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            hits = [m[:16] for m in markers if m in data]
            if hits:
                found.append(f"{path}: {hits[:2]}")
    return found


def test_confidential_job_runs_verified_and_no_plaintext_reaches_the_store_or_gateway(
    runtime_image: str, tmp_path: Path
) -> None:
    root = tmp_path / "demo"
    report, output, wall = _run_demo(root, "--confidential")
    print(f"demo --exit --confidential: {wall:.1f} s wall; {json.dumps(report)}", file=sys.stderr)

    assert report["state"] == "Accepted"
    assert report["votes"]["accepts"] >= 2 and report["votes"]["rejects"] == 0
    assert report["accuracy"] > 0.9  # the model trained on the sealed job, opened on download
    assert "the key agent released the content key" in output
    assert "the sealed result opened" in output

    job = root / "jobs" / "digits_mlp"
    result = root / "results" / f"job-{report['job_id']}"
    # (The checkpoint list is left out: its digests are public by design, in the votes' evidence.)
    markers = _pieces(job / "train.py") + _pieces(result / "model.pt")
    markers += _pieces(sorted((result / "checkpoints").glob("ckpt_*.pt"))[-1])
    # Control: the scan finds the markers where the plaintext is (the requester's own folders).
    assert _files_holding([job], markers) and _files_holding([result], markers)
    stored = [root / "store", root / "gateway"]
    assert all(folder.is_dir() for folder in stored), stored
    leaks = _files_holding(stored, markers)
    assert not leaks, f"plaintext of the confidential job in the store or the gateway: {leaks}"
    _assert_nothing_left(root, report)


def test_confidential_cheater_is_rejected_and_slashed(runtime_image: str, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    report, _output, wall = _run_demo(root, "--confidential", "--cheat", "--verify-blocks", "40")
    print(f"demo --confidential --cheat: {wall:.1f} s wall; {json.dumps(report)}", file=sys.stderr)

    assert report["state"] == "Rejected"
    assert report["provider"] == DEV_ADDRESSES[CHEATER_ACCOUNT]
    assert report["votes"]["rejects"] >= 2 and report["votes"]["accepts"] == 0
    assert int(report["slashed"]) > 0 and int(report["paid"]) == 0
    assert "forged" in (root / "logs" / "cheater-1.log").read_text()
    _assert_nothing_left(root, report)


def test_provider_withholding_the_keys_from_the_committee_is_rejected_and_slashed(
    runtime_image: str, tmp_path: Path
) -> None:
    root = tmp_path / "demo"
    # No seat replays anything here (each waits half its window for keys), so a shorter window will do.
    argv = ["--confidential", "--cheat", "--cheat-mode", "withhold-keys", "--verify-blocks", "24"]
    report, output, wall = _run_demo(root, *argv)
    print(f"demo --confidential withholding: {wall:.1f} s wall; {json.dumps(report)}", file=sys.stderr)

    assert report["state"] == "Rejected"
    assert report["provider"] == DEV_ADDRESSES[CHEATER_ACCOUNT]
    assert report["votes"]["rejects"] >= 2 and report["votes"]["accepts"] == 0
    assert int(report["slashed"]) > 0 and int(report["paid"]) == 0
    assert "withholding its keys" in (root / "logs" / "cheater-1.log").read_text()
    assert "finding: KeyWithheld" in output  # each seat's vote, revealed on chain with its reason
    _assert_nothing_left(root, report)
