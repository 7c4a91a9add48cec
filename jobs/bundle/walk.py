"""The one walk over a folder that both canonical tars are written from: job bundles and execution outputs.

Order: depth first, the entries of each folder sorted by name (code point order, which is UTF-8 byte
order), a folder just before its contents; equivalently, paths sorted component by component. The root
itself has no entry. Nothing is followed: each entry is `lstat`ed, and a folder is entered only when its
name passed the rules in `paths`. What to do with an entry that is not a file or folder, or whose name
breaks a rule, is the caller's choice (the bundle packer refuses, the output packer leaves it out).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jobs.bundle.entries import EntryKind, Writable
from jobs.bundle.paths import NameProblem, member_path, shown
from jobs.bundle.tarformat import directory_header, file_header, padding, symlink_header

_CHUNK = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class WalkedEntry:
    """One entry of the walk: `path` is its normalised member path, or `problem` says why it has none."""

    relative: str  # as found on disk, relative to the root, '/'-separated
    path: str
    mode: int  # from lstat; 0 when the name was refused before it was looked at
    problem: str = ""

    @property
    def kind(self) -> EntryKind | None:
        """File, folder or symlink; None for anything else (devices, FIFOs, sockets)."""
        if stat.S_ISDIR(self.mode):
            return EntryKind.DIRECTORY
        if stat.S_ISREG(self.mode):
            return EntryKind.FILE
        if stat.S_ISLNK(self.mode):
            return EntryKind.SYMLINK
        return None

    @property
    def shown(self) -> str:
        """The name for messages, undecodable bytes escaped."""
        return self.path or shown(self.relative.encode("utf-8", "surrogateescape"))


def walk(root: Path) -> Iterator[tuple[WalkedEntry, os.stat_result | None]]:
    """Every entry under `root` in canonical order, with its `lstat` (None when its name was refused)."""
    stack: list[tuple[str, Iterator[str]]] = [("", iter(sorted(os.listdir(root))))]
    while stack:
        prefix, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        relative = prefix + name
        try:
            path = member_path(relative)
        except NameProblem as problem:
            yield WalkedEntry(relative, "", 0, str(problem)), None
            continue
        info = os.lstat(root / relative)
        yield WalkedEntry(relative, path, info.st_mode), info
        if stat.S_ISDIR(info.st_mode):
            stack.append((relative + "/", iter(sorted(os.listdir(root / relative)))))


def entry_header(
    path: str, kind: EntryKind, *, size: int = 0, executable: bool = False, target: str = ""
) -> bytes:
    """The tar header of one entry in the canonical format."""
    if kind is EntryKind.DIRECTORY:
        return directory_header(path)
    if kind is EntryKind.SYMLINK:
        return symlink_header(path, target)
    return file_header(path, size, executable)


class FileChanged(OSError):
    """A file was replaced, shrank or grew while it was being copied into the tar."""


def copy_file(path: Path, size: int, out: Writable) -> None:
    """Copy exactly `size` bytes of the regular file at `path` (not followed if a link), then the padding.

    Raises `FileChanged` if it is no longer that file, `OSError` if it cannot be opened.
    """
    descriptor = os.open(path, _OPEN_FLAGS)
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            raise FileChanged("changed while being packed")
        left = size
        while left:
            chunk = handle.read(min(left, _CHUNK))
            if not chunk:
                raise FileChanged("shrank while being packed")
            out.write(chunk)
            left -= len(chunk)
        if handle.read(1):
            raise FileChanged("grew while being packed")
    out.write(padding(size))
