"""Walking, measuring and hashing the trees the builder stages, and naming their paths."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


def walk_files(root: Path) -> Iterator[Path]:
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                yield path


def walk_all(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield Path(folder) / name


def is_elf(path: Path) -> bool:
    if not (path.suffix == ".so" or ".so." in path.name or os.access(path, os.X_OK)):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for path in walk_files(root):
        files += 1
        size += path.stat().st_size
    return files, size


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(walk_files(root)):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rel(path: PurePosixPath) -> str:
    """An image path as a path under the staged root."""
    return str(path).lstrip("/")
