"""`verify_checkpoints`: a downloaded result's checkpoints against the committed root and count, each file
re-hashed with the SDK's digest, the first wrong checkpoint named (no chain needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crowdcompute.requester import CheckpointMismatch, ResultRef, verify_checkpoints
from jobs.cid import Cid, Codec
from jobs.commitments import merkle_root
from tests.requester.settled_jobs import tamper_file, tamper_listing, write_checkpoints

CID = Cid(b"\x11" * 32, Codec.RAW)


def committed(digests: list[bytes]) -> ResultRef:
    return ResultRef(CID, merkle_root(digests), len(digests), block_number=1)


@pytest.fixture
def output(tmp_path: Path) -> tuple[Path, list[bytes]]:
    folder = tmp_path / "result"
    return folder, write_checkpoints(folder, count=5)


def test_an_honest_result_matches_with_every_file_re_hashed(output: tuple[Path, list[bytes]]) -> None:
    folder, digests = output
    check = verify_checkpoints(folder, committed(digests))
    assert (check.count, check.root, check.rehashed) == (5, merkle_root(digests), 5)
    root = merkle_root(digests).hex()
    assert (
        check.describe() == f"5 checkpoints match the committed root 0x{root} (each re-hashed from its file)"
    )


def test_a_file_that_does_not_hold_its_listed_state_is_named(output: tuple[Path, list[bytes]]) -> None:
    folder, digests = output
    tamper_file(folder, 2)
    with pytest.raises(CheckpointMismatch) as caught:
        verify_checkpoints(folder, committed(digests))
    assert caught.value.index == 2
    assert str(caught.value).startswith("checkpoint 2 (checkpoints/ckpt_2.pt) does not hold the state")
    assert digests[3].hex() in str(caught.value)  # what the swapped-in file really holds


def test_a_changed_listing_is_named_by_the_file_it_no_longer_matches(
    output: tuple[Path, list[bytes]],
) -> None:
    folder, digests = output
    tamper_listing(folder, 1)
    with pytest.raises(CheckpointMismatch, match=r"^checkpoint 1 \(checkpoints/ckpt_1.pt\)") as caught:
        verify_checkpoints(folder, committed(digests))
    assert caught.value.index == 1


def test_a_list_that_is_not_what_was_committed_is_refused_with_both_roots(
    output: tuple[Path, list[bytes]],
) -> None:
    folder, digests = output
    other = committed(digests[:4])
    with pytest.raises(CheckpointMismatch, match="lists 5 checkpoint digests under root") as caught:
        verify_checkpoints(folder, other)
    assert other.checkpoint_root.hex() in str(caught.value) and caught.value.index is None


def test_listed_digests_without_files_are_checked_against_the_root_only(tmp_path: Path) -> None:
    digests = [bytes([i]) * 32 for i in range(3)]
    manifest = tmp_path / "checkpoints" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"checkpoints": [d.hex() for d in digests]}))
    check = verify_checkpoints(tmp_path, committed(digests))
    assert (check.count, check.rehashed) == (3, 0)
    assert "the others name no file" in check.describe()


@pytest.mark.parametrize("name", ["../outside.pt", "/etc/passwd", "checkpoints/missing.pt"])
def test_a_file_outside_the_result_or_missing_is_refused(output: tuple[Path, list[bytes]], name: str) -> None:
    folder, digests = output
    manifest = folder / "checkpoints" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["checkpoints"][0]["file"] = name
    manifest.write_text(json.dumps(document))
    (folder.parent / "outside.pt").write_bytes(b"x")
    with pytest.raises(CheckpointMismatch, match=r"^checkpoint 0") as caught:
        verify_checkpoints(folder, committed(digests))
    assert caught.value.index == 0


def test_without_torch_the_listing_is_still_checked_and_the_check_says_so(
    output: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    folder, digests = output
    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch" or name.startswith("sdk"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    check = verify_checkpoints(folder, committed(digests))
    assert (check.rehashed, check.torch_missing) == (0, True)
    assert check.describe().endswith("(listed digests; files not re-hashed: torch is not installed)")
