"""A downloaded result's checkpoints against what its provider committed on chain.

`submitResult` commits the Merkle root of the checkpoint digests and their count (jobs/commitments.py);
the result lists the digests in `checkpoints/manifest.json`, each beside the file it was computed from.
`verify_checkpoints` re-hashes every listed file with the SDK's one digest (the state a checkpoint holds,
or a shard's output: sdk/digest.py), compares each with the digest listed for it, and compares the root
of the list with the committed root and count. The first checkpoint that differs is named.

Re-hashing needs torch (installed with the `dev` extra, as by `make setup`); without it the listed digests
are still checked against the root, and the check says that the files were not re-hashed.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crowdcompute.requester.errors import CheckpointMismatch
from crowdcompute.requester.follow import ResultRef
from jobs.commitments import CHECKPOINT_MANIFEST, CommitmentError, checkpoint_digests, merkle_root

__all__ = ["CheckpointCheck", "verify_checkpoints"]

log = logging.getLogger(__name__)

FileDigest = Callable[[Path], bytes]


@dataclass(frozen=True)
class CheckpointCheck:
    """What `verify_checkpoints` found: every listed digest under the committed root, `rehashed` of them
    recomputed from their files (0 when torch is not installed or the result names no files)."""

    count: int
    root: bytes
    rehashed: int
    torch_missing: bool = False

    def describe(self) -> str:
        """'7 checkpoints match the committed root 0x…', and what was re-hashed."""
        noun = "checkpoint matches" if self.count == 1 else "checkpoints match"
        text = f"{self.count} {noun} the committed root 0x{self.root.hex()}"
        if self.torch_missing:
            return text + " (listed digests; files not re-hashed: torch is not installed)"
        if self.rehashed < self.count:
            return text + f" ({self.rehashed} re-hashed from their files; the others name no file)"
        return text + " (each re-hashed from its file)"

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "root": "0x" + self.root.hex(),
            "rehashed": self.rehashed,
            "torchMissing": self.torch_missing,
        }


def verify_checkpoints(
    folder: Path, result: ResultRef, *, file_digest: FileDigest | None = None
) -> CheckpointCheck:
    """Check the checkpoints in the extracted result `folder` against `result` (the `ResultSubmitted`
    commitment). Raises `CheckpointMismatch` naming the first checkpoint whose file does not hold its
    listed digest, or the root and count when the list is not what was committed."""
    folder = Path(folder)
    try:
        listed = checkpoint_digests(folder)
    except CommitmentError as exc:
        raise CheckpointMismatch(f"the result's {CHECKPOINT_MANIFEST} cannot be read: {exc}", None) from None
    torch_missing = False
    if file_digest is None:
        file_digest = _sdk_file_digest()
        torch_missing = file_digest is None
    rehashed = 0
    if file_digest is not None:
        for index, name in sorted(_listed_files(folder).items()):
            if index >= len(listed):
                continue
            path = _inside(folder, name, index)
            try:
                found = file_digest(path)
            except CheckpointMismatch as exc:
                raise CheckpointMismatch(f"checkpoint {index} ({name}): {exc}", index) from None
            if found != listed[index]:
                raise CheckpointMismatch(
                    f"checkpoint {index} ({name}) does not hold the state the result lists for it: it hashes "
                    f"to 0x{found.hex()}, the manifest lists 0x{listed[index].hex()}",
                    index,
                )
            rehashed += 1
    root = merkle_root(listed)
    if (root, len(listed)) != (result.checkpoint_root, result.checkpoint_count):
        raise CheckpointMismatch(
            f"the result lists {len(listed)} checkpoint digests under root 0x{root.hex()}, but its provider "
            f"committed {result.checkpoint_count} under 0x{result.checkpoint_root.hex()}: the result is not "
            "what was verified",
            None,
        )
    return CheckpointCheck(len(listed), root, rehashed, torch_missing)


def _listed_files(folder: Path) -> dict[int, str]:
    """The `file` each manifest entry names (already validated by `checkpoint_digests`)."""
    path = folder / CHECKPOINT_MANIFEST
    if not path.is_file():
        return {}
    document = json.loads(path.read_bytes())
    entries = document.get("checkpoints") if isinstance(document, dict) else document
    files: dict[int, str] = {}
    for position, entry in enumerate(entries or []):
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            files[int(entry.get("index", position))] = entry["file"]
    return files


def _inside(folder: Path, name: str, index: int) -> Path:
    """The file checkpoint `index` names, refused unless it is a regular file inside the result."""
    root = folder.resolve()
    path = folder / name
    if Path(name).is_absolute() or path.is_symlink() or not path.resolve().is_relative_to(root):
        raise CheckpointMismatch(
            f"checkpoint {index} names {name!r}, which is not a file of the result", index
        )
    if not path.is_file():
        raise CheckpointMismatch(f"checkpoint {index}: its file {name} is missing from the result", index)
    return path


def _sdk_file_digest() -> FileDigest | None:
    """The SDK's digest of what a checkpoint or shard file holds; None without torch."""
    try:
        import torch

        from sdk.checkpoint import load_checkpoint
        from sdk.digest import state_digest
        from sdk.errors import CheckpointError, SdkError
    except ImportError as exc:
        log.info("checkpoint files are not re-hashed: %s", exc)
        return None

    def digest(path: Path) -> bytes:
        try:
            try:
                state: Any = load_checkpoint(path).state
            except CheckpointError:
                # Not a training checkpoint: a shard's output, saved as it is (sdk/shards.py).
                state = torch.load(path, map_location="cpu", weights_only=True)
            return bytes.fromhex(state_digest(state))
        except (SdkError, OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise CheckpointMismatch(
                f"it cannot be read as a checkpoint or shard output: {exc}", None
            ) from None

    return digest
