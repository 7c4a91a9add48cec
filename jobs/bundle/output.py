"""The result of an execution as one deterministic tar, so the same output always has the same CID.

Same encoding and walk as job bundles (`jobs.bundle.walk`: sorted entries, zeroed times and owners,
fixed modes), but for any folder: a job's output holds checkpoints and the final model, not a `job.toml`.
The output was written by untrusted code, so nothing is followed: symlinks, devices, FIFOs and names the
bundle rules refuse are left out (and logged), and files are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jobs.bundle.entries import EntryKind
from jobs.bundle.tarformat import END_OF_ARCHIVE
from jobs.bundle.walk import copy_file, entry_header, walk

__all__ = ["PackedOutput", "pack_output"]

log = logging.getLogger(__name__)


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


def pack_output(folder: Path, dest: Path, *, leave_out: Collection[str] = ()) -> PackedOutput:
    """Write the canonical tar of `folder` to `dest` (replaced atomically); an empty folder is allowed.
    Files whose path relative to `folder` is in `leave_out` are not packed (a name the protocol reserves,
    such as `jobs.failure.FAILURE_RECORD`, that a job wrote itself)."""
    tmp = dest.with_name(f".{dest.name}.partial")
    files = content = 0
    skipped: list[str] = []
    with tmp.open("wb") as handle:
        out = _Writer(handle)
        for entry, info in walk(folder) if folder.is_dir() else ():
            if entry.path in leave_out:
                skipped.append(f"{entry.path}: a reserved name")
            elif info is None:
                skipped.append(f"{entry.relative!r}: {entry.problem}")
            elif entry.kind is EntryKind.DIRECTORY:
                out.write(entry_header(entry.path, EntryKind.DIRECTORY))
            elif entry.kind is EntryKind.FILE:
                executable = bool(info.st_mode & 0o111)
                out.write(entry_header(entry.path, EntryKind.FILE, size=info.st_size, executable=executable))
                try:
                    copy_file(folder / entry.relative, info.st_size, out)
                except OSError:
                    raise OSError(f"{entry.relative} changed while being packed") from None
                files += 1
                content += info.st_size
            else:
                skipped.append(f"{entry.path}: not a regular file or folder")
        out.write(END_OF_ARCHIVE)
        handle.flush()
        written = out.written
    os.replace(tmp, dest)
    for left_out in skipped:
        log.warning("output of %s: left out %s", folder, left_out)
    return PackedOutput(dest, files, content, written, tuple(skipped))
