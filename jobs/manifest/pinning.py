"""The runtime image lock's id, the old placeholder id, and pinning a job.toml's `[runtime]` to an image id.

The runtime image is built reproducibly, so its id is known in advance: runtime/image.lock holds it
(`locked_runtime`), and the examples pin it. A machine whose build differs from the lock (another
Python, torch or shared library) gets another id; `job submit` then pins a copy of an example to the
id its network runs. Jobs written before the lock carry a placeholder id that no provider runs.
`pin_runtime_text` rewrites `[runtime] digest` (and `image`) in the manifest's text, leaving every other
line and comment as written.

This file imports only the standard library: `examples/pin_runtime.py` loads it by path, so that script
runs with any Python 3 (no virtual environment) and the rule lives in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["LOCK_FILE", "PLACEHOLDER_DIGEST", "is_placeholder", "locked_runtime", "pin_runtime_text"]

LOCK_FILE = Path(__file__).resolve().parents[2] / "runtime" / "image.lock"
"""Written by `runtime/build_offline.py --lock`: the runtime image's tag and id, and its inputs."""

PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
"""What job.toml files written before the image lock pin: no image has this id."""

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_TABLE = re.compile(r"^\s*\[([^\]]+)\]\s*(#.*)?$", re.MULTILINE)


def is_placeholder(digest: str) -> bool:
    return digest == PLACEHOLDER_DIGEST


def locked_runtime(lock_file: Path = LOCK_FILE) -> tuple[str, str] | None:
    """(tag, image id) from the image lock; None when there is no lock (an installed package, no repo)."""
    import tomllib  # Python 3.11; imported here so that pin_runtime_text works with any Python 3

    try:
        data = tomllib.loads(lock_file.read_text())
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(
            f"{lock_file} is not valid TOML ({exc}); rewrite it with build_offline.py --lock"
        ) from exc
    return str(data["tag"]), str(data["image_id"])


def _runtime_table(text: str) -> tuple[int, int]:
    """The [runtime] table's span in `text` (from its header to the next table or the end)."""
    tables = list(_TABLE.finditer(text))
    for index, header in enumerate(tables):
        if header.group(1).strip() == "runtime":
            end = tables[index + 1].start() if index + 1 < len(tables) else len(text)
            return header.start(), end
    raise ValueError("job.toml has no [runtime] table")


def pin_runtime_text(text: str, digest: str, image: str | None = None) -> str:
    """`text` (a job.toml) with `[runtime] digest` set to `digest` (and `image`, when given).

    Raises `ValueError` when `digest` is no image id or the table has not exactly one digest line."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"{digest!r} is not an image id ('sha256:' and 64 lowercase hex digits)")
    start, end = _runtime_table(text)
    table, count = re.subn(r'^(\s*digest\s*=\s*)"[^"]*"', rf'\g<1>"{digest}"', text[start:end], flags=re.M)
    if count != 1:
        raise ValueError("[runtime] must have exactly one digest line")
    if image is not None:
        table = re.sub(r'^(\s*image\s*=\s*)"[^"]*"', rf'\g<1>"{image}"', table, count=1, flags=re.M)
    return text[:start] + table + text[end:]
