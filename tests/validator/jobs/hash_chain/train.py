"""A SHA-256 chain of CHAIN_LINKS links of CHAIN_ROUNDS hashes each (no torch, so a run takes well
under a second). result.txt holds the last value. With CHAIN_CHECKPOINTS=1 the end of every link is
listed in checkpoints/manifest.json, so validators in mode `replicate` compare the Merkle root of those
digests; without it they compare the whole result archive.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

SEED = b"crowdcompute hash chain"


def run(out: Path, *, links: int, rounds: int, checkpoints: bool) -> list[str]:
    """Compute the chain into `out`; the digest at the end of each link."""
    value = SEED
    ends = []
    for _ in range(links):
        for _ in range(rounds):
            value = hashlib.sha256(value).digest()
        ends.append(value.hex())
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.txt").write_text(ends[-1] + "\n")
    if checkpoints:
        (out / "checkpoints").mkdir(exist_ok=True)
        entries = [{"index": i, "digest": digest} for i, digest in enumerate(ends)]
        (out / "checkpoints" / "manifest.json").write_text(json.dumps({"checkpoints": entries}))
    return ends


if __name__ == "__main__":
    run(
        Path(os.environ.get("CROWDCOMPUTE_OUTPUT_DIR", "/output")),
        links=int(os.environ.get("CHAIN_LINKS", "4")),
        rounds=int(os.environ.get("CHAIN_ROUNDS", "50000")),
        checkpoints=os.environ.get("CHAIN_CHECKPOINTS") == "1",
    )
