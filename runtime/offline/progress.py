"""Progress lines: where they go (stderr unless the caller takes them) and how they name times and paths."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from runtime.offline.spec import REPO

Progress = Callable[[str], None]


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def since(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


def show(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)
