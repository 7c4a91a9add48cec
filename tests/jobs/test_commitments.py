"""The checkpoint commitment: the Merkle rule written out by hand, proofs, and the job's checkpoint list."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jobs.commitments import (
    EMPTY_ROOT,
    CommitmentError,
    checkpoint_commitment,
    checkpoint_digests,
    merkle_proof,
    merkle_root,
    verify_merkle_proof,
)


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


LEAVES = [h(bytes([i])) for i in range(5)]


def test_merkle_root_follows_the_documented_rule() -> None:
    a, b, c, d, e = LEAVES
    assert merkle_root([]) == EMPTY_ROOT == bytes(32)
    assert merkle_root([a]) == a
    assert merkle_root([a, b]) == h(a + b)
    # three leaves: (a,b) paired, c promoted; then paired with it
    assert merkle_root([a, b, c]) == h(h(a + b) + c)
    # five: [ab, cd, e] -> [ab|cd, e] -> root
    assert merkle_root([a, b, c, d, e]) == h(h(h(a + b) + h(c + d)) + e)


def test_merkle_root_refuses_leaves_that_are_not_digests() -> None:
    with pytest.raises(CommitmentError, match="32-byte"):
        merkle_root([b"short"])


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_merkle_proof_verifies_every_leaf_and_nothing_else(count: int) -> None:
    leaves = [h(b"%d" % i) for i in range(count)]
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, index)
        assert verify_merkle_proof(leaf, index, count, proof, root)
        assert not verify_merkle_proof(h(b"other"), index, count, proof, root)
        if count > 1:
            assert not verify_merkle_proof(leaf, (index + 1) % count, count, proof, root)


def write_manifest(folder: Path, document: object) -> None:
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints" / "manifest.json").write_text(json.dumps(document))


def test_checkpoint_digests_reads_the_jobs_list_in_index_order(tmp_path: Path) -> None:
    a, b, c = LEAVES[:3]
    write_manifest(
        tmp_path,
        {
            "checkpoints": [
                {"index": 2, "digest": c.hex()},
                {"index": 0, "digest": "0x" + a.hex()},
                {"index": 1, "digest": b.hex()},
            ]
        },
    )
    assert checkpoint_digests(tmp_path) == [a, b, c]
    commitment = checkpoint_commitment(tmp_path)
    assert (commitment.root, commitment.count) == (merkle_root([a, b, c]), 3)


def test_checkpoint_digests_without_a_manifest_is_empty(tmp_path: Path) -> None:
    assert checkpoint_digests(tmp_path) == []
    assert checkpoint_commitment(tmp_path).root == EMPTY_ROOT


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"checkpoints": [{"index": 1, "digest": "aa" * 32}]}, "without gaps"),
        ({"checkpoints": [{"digest": "zz"}]}, "not hex"),
        ({"checkpoints": ["aa" * 31]}, "not 32"),
        ({"nothing": []}, "a list under 'checkpoints'"),
    ],
)
def test_checkpoint_digests_refuses_a_malformed_list(tmp_path: Path, document: object, words: str) -> None:
    write_manifest(tmp_path, document)
    with pytest.raises(CommitmentError, match=words):
        checkpoint_digests(tmp_path)


def test_checkpoint_digests_never_follows_a_symlink(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.json"
    secret.write_text(json.dumps(["aa" * 32]))
    (tmp_path / "out" / "checkpoints").mkdir(parents=True)
    (tmp_path / "out" / "checkpoints" / "manifest.json").symlink_to(secret)
    with pytest.raises(CommitmentError, match="symlink"):
        checkpoint_digests(tmp_path / "out")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "manifest.json").write_text(json.dumps(["aa" * 32]))
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / "checkpoints").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CommitmentError, match="symlink"):
        checkpoint_digests(tmp_path / "out2")
