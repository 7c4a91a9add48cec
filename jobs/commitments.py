"""What a provider commits at submission: the Merkle root of its checkpoint digests, and their count.

The tree (one rule, shared by providers and validators):

* the leaves are the checkpoint digests `d_0 .. d_{n-1}` themselves, in checkpoint order, 32 bytes each
  (each is already a sha256, so leaves are not hashed again);
* each level pairs neighbours left to right, parent = sha256(left || right);
* a level with an odd count promotes its last node unchanged to the next level;
* the root is the single node left; one leaf is its own root; zero leaves give 32 zero bytes.

The count is committed beside the root (`submitResult(..., checkpointRoot, checkpointCount)`), so a proof
is checked against a known tree shape and a leaf cannot pose as an inner node of another tree.

A job lists its checkpoints in `checkpoints/manifest.json` inside its output folder:

    {"checkpoints": [{"index": 0, "digest": "<64 hex>", ...}, {"index": 1, "digest": "..."}, ...]}

(a bare JSON list of such entries, or of hex strings, is accepted too; `0x` prefixes are allowed; other
keys such as `step` or `file` are ignored here). A job that writes no manifest has no checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.errors import JobsError

__all__ = [
    "CHECKPOINT_MANIFEST",
    "EMPTY_ROOT",
    "CheckpointCommitment",
    "CommitmentError",
    "checkpoint_commitment",
    "checkpoint_digests",
    "entry_digests",
    "merkle_proof",
    "merkle_root",
    "verify_merkle_proof",
]

CHECKPOINT_MANIFEST = Path("checkpoints") / "manifest.json"
DIGEST_SIZE = 32
EMPTY_ROOT = bytes(DIGEST_SIZE)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_CHECKPOINTS = 2**32 - 1  # checkpointCount is a uint32 on chain


class CommitmentError(JobsError, ValueError):
    """Checkpoint digests that cannot be committed: a malformed manifest, a leaf of the wrong size."""


@dataclass(frozen=True)
class CheckpointCommitment:
    """The root and count a provider submits."""

    root: bytes
    count: int


def _parent(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(left + right).digest()


def _check_leaves(leaves: list[bytes]) -> None:
    for index, leaf in enumerate(leaves):
        if len(leaf) != DIGEST_SIZE:
            raise CommitmentError(f"leaf {index} is {len(leaf)} bytes; every leaf is a 32-byte digest")


def _next_level(level: list[bytes]) -> list[bytes]:
    parents = [_parent(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])  # odd node promoted unchanged
    return parents


def merkle_root(leaves: list[bytes]) -> bytes:
    """The root of `leaves` under the rule in the module docstring."""
    _check_leaves(leaves)
    if not leaves:
        return EMPTY_ROOT
    level = [bytes(leaf) for leaf in leaves]
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def merkle_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """The sibling hashes from leaf `index` up to the root (levels where it is promoted add none)."""
    _check_leaves(leaves)
    if not 0 <= index < len(leaves):
        raise CommitmentError(f"leaf {index} does not exist in a tree of {len(leaves)} leaves")
    proof: list[bytes] = []
    level = [bytes(leaf) for leaf in leaves]
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        level = _next_level(level)
        index //= 2
    return proof


def verify_merkle_proof(leaf: bytes, index: int, count: int, proof: list[bytes], root: bytes) -> bool:
    """Whether `leaf` is leaf `index` of the `count`-leaf tree with `root`, given `merkle_proof`'s output."""
    if len(leaf) != DIGEST_SIZE or not 0 <= index < count:
        return False
    node, remaining = bytes(leaf), list(proof)
    while count > 1:
        promoted = index == count - 1 and count % 2 == 1
        if not promoted:
            if not remaining:
                return False
            sibling = remaining.pop(0)
            node = _parent(node, sibling) if index % 2 == 0 else _parent(sibling, node)
        index //= 2
        count = (count + 1) // 2
    return not remaining and node == root


def _digest_of(entry: Any, position: int) -> tuple[int, bytes]:
    if isinstance(entry, str):
        index, text = position, entry
    elif isinstance(entry, dict) and isinstance(entry.get("digest"), str):
        index, text = entry.get("index", position), entry["digest"]
        if not isinstance(index, int) or isinstance(index, bool):
            raise CommitmentError(f"checkpoint {position}: 'index' must be an integer")
    else:
        raise CommitmentError(f"checkpoint {position}: expected a hex digest or an object with 'digest'")
    try:
        digest = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise CommitmentError(f"checkpoint {position}: digest {text[:80]!r} is not hex") from None
    if len(digest) != DIGEST_SIZE:
        raise CommitmentError(f"checkpoint {position}: digest is {len(digest)} bytes, not 32")
    return index, digest


def checkpoint_digests(output_dir: str | os.PathLike[str]) -> list[bytes]:
    """The digests listed in `<output_dir>/checkpoints/manifest.json`, in index order; [] without one.

    Indices must run 0..n-1 without gaps or repeats. The file is written by the job, so it is read with
    a size cap and never followed through a symlink.
    """
    path = Path(output_dir) / CHECKPOINT_MANIFEST
    if path.parent.is_symlink() or path.is_symlink():
        raise CommitmentError(f"{CHECKPOINT_MANIFEST} is reached through a symlink; refusing to follow it")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return []
    if len(raw) > MAX_MANIFEST_BYTES:
        raise CommitmentError(f"{CHECKPOINT_MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CommitmentError(f"{CHECKPOINT_MANIFEST} is not valid JSON: {exc}") from None
    entries = document.get("checkpoints") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise CommitmentError(f"{CHECKPOINT_MANIFEST} must hold a list under 'checkpoints'")
    return entry_digests(entries)


def entry_digests(entries: list[Any]) -> list[bytes]:
    """The digests of a manifest's entries, in index order (indices must run 0..n-1)."""
    if len(entries) > MAX_CHECKPOINTS:
        raise CommitmentError(f"{CHECKPOINT_MANIFEST} lists more than {MAX_CHECKPOINTS} checkpoints")
    indexed: dict[int, bytes] = {}
    for position, entry in enumerate(entries):
        index, digest = _digest_of(entry, position)
        if index in indexed:
            raise CommitmentError(f"checkpoint index {index} appears twice")
        indexed[index] = digest
    if sorted(indexed) != list(range(len(indexed))):
        raise CommitmentError("checkpoint indices must run from 0 without gaps")
    return [indexed[i] for i in range(len(indexed))]


def checkpoint_commitment(output_dir: str | os.PathLike[str]) -> CheckpointCommitment:
    """Root and count of the checkpoints a job's output lists."""
    digests = checkpoint_digests(output_dir)
    return CheckpointCommitment(merkle_root(digests), len(digests))
