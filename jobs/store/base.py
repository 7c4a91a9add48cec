"""The content-store interface every backend implements, with the parts they share.

A backend supplies block access (`get_block`, which must verify), adding, and pinning; reading files
(`cat`, `open`, `get`, `read_bytes`) and `stat` are built here on top of `get_block`, so every byte a
caller receives from any backend has been checked against its CID first.
"""

from __future__ import annotations

import contextlib
import io
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from jobs.cid import Cid, CidVersion, parse_cid
from jobs.store.exporter import ContentStat, iter_file, stat_root

__all__ = ["CidLike", "ContentStore", "GcResult", "Progress", "Source"]

CidLike = Cid | str
Source = str | os.PathLike[str] | BinaryIO
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class GcResult:
    """Blocks a garbage collection removed; `removed` as raw-codec CIDv1 keys, as Kubo reports them."""

    removed: tuple[Cid, ...]
    freed_bytes: int | None  # None when the backend does not say


class ContentStore(ABC):
    """Content addressed by UnixFS CIDs identical to Kubo's (`ipfs add`, CIDv1 raw leaves or CIDv0)."""

    @abstractmethod
    def add_file(
        self,
        source: Source,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> Cid:
        """Import a file (a path, or a binary stream read to its end) and return its root CID.

        `only_hash` computes the CID without storing anything. `pin` (the default, as with `ipfs add`)
        pins the root recursively in the same step, so a concurrent `gc` cannot take the new blocks.
        `progress` is called with the number of content bytes read so far.
        """

    def add_bytes(
        self,
        data: bytes | bytearray | memoryview,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
    ) -> Cid:
        """`add_file` for content already in memory."""
        return self.add_file(io.BytesIO(data), cid_version=cid_version, only_hash=only_hash, pin=pin)

    @abstractmethod
    def get_block(self, cid: CidLike) -> bytes:
        """One block's bytes, verified against `cid` (raises `CidMismatch`, `BlockNotFound`)."""

    @abstractmethod
    def has(self, cid: CidLike) -> bool:
        """Whether this store holds the block `cid` locally."""

    @abstractmethod
    def pin(self, cid: CidLike) -> None:
        """Pin the DAG under `cid` recursively (all its blocks must be available)."""

    @abstractmethod
    def unpin(self, cid: CidLike) -> None:
        """Remove the recursive pin of `cid` (raises `NotPinned` when there is none)."""

    @abstractmethod
    def pins(self) -> list[Cid]:
        """Every recursively pinned root."""

    @abstractmethod
    def gc(self) -> GcResult:
        """Remove every block not reachable from a pinned root."""

    def cat(self, cid: CidLike) -> Iterator[bytes]:
        """The file's content in chunks (up to 256 KiB each), each verified before it is yielded."""
        for piece in iter_file(self.get_block, parse_cid(cid)):
            yield piece if isinstance(piece, bytes) else bytes(piece)

    def read_bytes(self, cid: CidLike) -> bytes:
        """The whole content in memory; for small files (manifests, metadata)."""
        return b"".join(self.cat(cid))

    def open(self, cid: CidLike) -> BinaryIO:
        """A read-only binary file object over the verified content (e.g. for `tarfile.open(fileobj=...)`)."""
        return io.BufferedReader(_ChunkReader(self.cat(cid)), buffer_size=256 * 1024)

    def get(self, cid: CidLike, dest: str | os.PathLike[str]) -> Path:
        """Write the content to `dest` atomically: a partial or unverified file never appears there."""
        target = Path(dest)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            with tmp.open("wb") as out:
                for chunk in self.cat(cid):
                    out.write(chunk)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return target

    def stat(self, cid: CidLike) -> ContentStat:
        """Size and type of the content under `cid`, read from its (verified) root block."""
        root = parse_cid(cid)
        return stat_root(root, self.get_block(root))

    def close(self) -> None:  # noqa: B027 - backends without resources need nothing here
        """Release connections or handles; the store must not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _ChunkReader(io.RawIOBase):
    """Raw stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        count = min(len(buffer), len(self._current))
        buffer[:count] = self._current[:count]
        self._current = self._current[count:]
        return count

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


@contextlib.contextmanager
def open_source(source: Source) -> Iterator[BinaryIO]:
    """A binary stream for `source`: a path is opened unbuffered, a stream is passed through."""
    if isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb", buffering=0) as handle:
            yield handle
        return
    yield source
