"""Step 5, bytecode: `.pyc` compiled for the paths the files have inside the image (its root is
read-only at run time, so nothing can be compiled there)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from runtime.offline.spec import BuildError, HostPython


def compile_for_image(root: Path, python: HostPython, targets: Sequence[Path]) -> None:
    """Compile `targets` (under `root`) for their paths inside the image; hash-based pyc, so mtimes never
    matter and the source is never looked at again."""
    result = subprocess.run(
        [
            str(python.executable),
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode=unchecked-hash",
            "-s",
            str(root),
            "-p",
            "/",
            *(str(target) for target in targets),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        failures = [line for line in result.stdout.splitlines() if line.startswith("***")]
        # A few vendored files are Python 2 or templates; they are never imported.
        if not failures or len(failures) > 20:
            raise BuildError("compileall failed:\n" + (result.stdout + result.stderr)[-2000:])
