"""Sealed result trees (docs/confidential.md, "Results"): every file sealed in place under its own path,
a clear SEALED marker, all-or-nothing opening, and each file bound to its job, attempt and path."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from jobs.sealing import SealedDataError, SealingError, is_sealed_tree, open_result_tree, seal_result_tree
from jobs.sealing.stream import MAGIC

KEY = bytes(range(32))
IDS = {"chain_id": 31337, "job_id": 7, "attempt": 1}
LOG2 = 10


@pytest.fixture
def output(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    (root / "checkpoints").mkdir(parents=True)
    for step in range(3):
        (root / "checkpoints" / f"step-{step}.pt").write_bytes(os.urandom(3000 + step))
    (root / "metrics.json").write_text('{"loss": 0.1}')
    (root / "empty").write_bytes(b"")
    return root


def digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_seal_then_open_gives_the_same_files(output: Path) -> None:
    before = digests(output)
    assert seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS) == 5
    assert is_sealed_tree(output)
    assert (output / "SEALED").read_text() == "crowdcompute-sealed-v1\n"
    sealed = digests(output)
    assert set(sealed) == set(before) | {"SEALED"}
    for path in before:
        assert (output / path).read_bytes().startswith(MAGIC)
        assert sealed[path] != before[path]
    assert open_result_tree(output, KEY, **IDS) == 5
    assert digests(output) == before  # the marker is gone once every file is open
    assert not is_sealed_tree(output)


def test_sealing_again_after_an_interruption_seals_only_what_is_left(output: Path) -> None:
    before = digests(output)
    seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS)
    (output / "SEALED").unlink()  # as if the provider stopped before writing the marker
    (output / "late.txt").write_text("written before the restart")
    assert seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS) == 1
    open_result_tree(output, KEY, **IDS)
    assert digests(output) == before | {"late.txt": hashlib.sha256(b"written before the restart").hexdigest()}


def test_a_job_that_writes_its_own_marker_is_refused(output: Path) -> None:
    (output / "SEALED").write_text("mine")
    with pytest.raises(SealingError, match="must not write it"):
        seal_result_tree(output, KEY, **IDS)


def test_a_partial_open_opens_only_the_selected_files(output: Path) -> None:
    before = digests(output)
    seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS)
    chosen = {"checkpoints/step-1.pt", "metrics.json"}
    assert open_result_tree(output, KEY, select=lambda path: path in chosen, **IDS) == 2
    after = digests(output)
    for path in before:
        assert (after[path] == before[path]) == (path in chosen)
    assert is_sealed_tree(output)


def test_one_tampered_file_leaves_no_file_opened(output: Path) -> None:
    seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS)
    target = output / "metrics.json"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))
    sealed = digests(output)
    with pytest.raises(SealedDataError) as caught:
        open_result_tree(output, KEY, **IDS)
    assert str(caught.value) == (
        "job 7: result file metrics.json: authentication failed: wrong key or tampered data"
    )
    assert digests(output) == sealed
    assert not [path for path in output.rglob(".*")]  # no temporary file left


def test_files_moved_between_paths_or_attempts_do_not_open(output: Path, tmp_path: Path) -> None:
    seal_result_tree(output, KEY, chunk_log2=LOG2, **IDS)
    step0, step1 = output / "checkpoints" / "step-0.pt", output / "checkpoints" / "step-1.pt"
    data0, data1 = step0.read_bytes(), step1.read_bytes()
    step0.write_bytes(data1)
    step1.write_bytes(data0)
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_result_tree(output, KEY, **IDS)
    step0.write_bytes(data0)
    step1.write_bytes(data1)
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_result_tree(output, KEY, chain_id=31337, job_id=7, attempt=2)
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_result_tree(output, bytes(32), **IDS)
    open_result_tree(output, KEY, **IDS)


def test_opening_a_clear_folder_says_it_is_not_sealed(output: Path) -> None:
    with pytest.raises(SealingError, match="not a sealed result"):
        open_result_tree(output, KEY, **IDS)
