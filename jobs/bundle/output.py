"""The result of an execution as one deterministic tar, so the same output always has the same CID.

Same encoding as job bundles (`jobs.bundle.tarformat`: sorted entries, zeroed times and owners, fixed
modes), but for any folder: a job's output holds checkpoints and the final model, not a `job.toml`.
The output was written by untrusted code, so nothing is followed: symlinks, devices, FIFOs and names the
bundle rules refuse are left out (and logged), and files are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jobs.bundle.paths import NameProblem, member_path
from jobs.bundle.tarformat import END_OF_ARCHIVE, directory_header, file_header, padding

__all__ = ["PackedOutput", "pack_output"]

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class PackedOutput:
    path: Path
    files: int
    content_bytes: int
    tar_bytes: int
    skipped: tuple[str, ...]


class _Writer:
    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.written = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)


def _copy(path: Path, size: int, out: _Writer) -> bool:
    """Copy exactly `size` bytes of `path`; False if it is no longer that regular file."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
        left = size
        while left:
            chunk = handle.read(min(left, _CHUNK))
            if not chunk:
                raise OSError(f"{path} shrank while being packed")
            out.write(chunk)
            left -= len(chunk)
    out.write(padding(size))
    return True


def pack_output(folder: Path, dest: Path) -> PackedOutput:
    """Write the canonical tar of `folder` to `dest` (replaced atomically); an empty folder is allowed."""
    tmp = dest.with_name(f".{dest.name}.partial")
    files = content = 0
    skipped: list[str] = []
    with tmp.open("wb") as handle:
        out = _Writer(handle)
        top = sorted(os.listdir(folder)) if folder.is_dir() else []
        stack: list[tuple[str, Iterator[str]]] = [("", iter(top))]
        while stack:
            prefix, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                continue
            relative = prefix + name
            try:
                name = member_path(relative)
                name.encode("utf-8")
            except (NameProblem, UnicodeEncodeError) as problem:
                skipped.append(f"{relative!r}: {problem}")
                continue
            info = os.lstat(folder / relative)
            if stat.S_ISDIR(info.st_mode):
                out.write(directory_header(name))
                stack.append((relative + "/", iter(sorted(os.listdir(folder / relative)))))
            elif stat.S_ISREG(info.st_mode):
                header = file_header(name, info.st_size, bool(info.st_mode & 0o111))
                out.write(header)
                if not _copy(folder / relative, info.st_size, out):
                    raise OSError(f"{relative} changed while being packed")
                files += 1
                content += info.st_size
            else:
                skipped.append(f"{name}: not a regular file or folder")
        out.write(END_OF_ARCHIVE)
        handle.flush()
        written = out.written
    os.replace(tmp, dest)
    for entry in skipped:
        log.warning("output of %s: left out %s", folder, entry)
    return PackedOutput(dest, files, content, written, tuple(skipped))
