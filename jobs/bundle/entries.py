"""What every archive reader yields: one entry at a time, with its data as a bounded stream."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


class EntryKind(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass
class ArchiveEntry:
    """An entry whose name and type passed the checks; `path` is normalised ('' is the root).

    `data` reads a file's bytes and is valid only until the next entry is requested.
    """

    path: str
    kind: EntryKind
    executable: bool = False
    size: int = 0
    link_target: str = ""
    data: Readable | None = None


def read_exact(stream: Readable, size: int) -> bytes:
    """`size` bytes or fewer at end of stream; loops over short reads."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
