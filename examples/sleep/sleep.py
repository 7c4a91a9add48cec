"""Sleep SLEEP_S seconds, then write result.txt (a SHA-256 of the settings) to the output folder.

Bound by time, not CPU: many of these keep providers and validators busy without loading the machine.
The output depends on nothing but SLEEP_S, so a whole re-run (mode `replicate`) matches it byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


def main() -> None:
    seconds = float(os.environ.get("SLEEP_S", "3"))
    out = Path(os.environ.get("CROWDCOMPUTE_OUTPUT_DIR", "/output"))
    print(json.dumps({"event": "sleeping", "seconds": seconds}), flush=True)
    time.sleep(seconds)
    out.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(f"slept {seconds!r}".encode()).hexdigest()
    (out / "result.txt").write_text(digest + "\n")
    print(json.dumps({"event": "done", "digest": digest}), flush=True)


if __name__ == "__main__":
    main()
