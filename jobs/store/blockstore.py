"""A flat-file blockstore: one file per block, named by its sha2-256 digest, in 256 shard folders.

    <root>/blocks/<first 2 hex digits>/<64 hex digits>
    <root>/blocks/<first 2 hex digits>/<64 hex digits>.<pid>.<n>.partial   a write in progress

Blocks are keyed by digest alone (as Kubo keys by multihash): the v0 and v1 CIDs of a node share one file.
A write goes to a `.partial` file and is renamed over the final name, so readers never see half a block; with
`fsync` on, the data is flushed before the rename and the touched shard folders by `sync()`. Every read is
checked against the requested CID, so a block damaged on disk raises `CidMismatch` instead of being served.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from jobs.cid import Cid
from jobs.store.errors import BlockNotFound, CidMismatch

__all__ = ["FlatBlockstore"]

log = logging.getLogger(__name__)

Buffer = bytes | bytearray | memoryview

_counter = itertools.count()
_TMP_SUFFIX = ".partial"


class FlatBlockstore:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self._blocks = root / "blocks"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._known_shards: set[str] = set()
        self._dirty_shards: set[str] = set()
        self._lock = threading.Lock()

    def path(self, digest: bytes) -> Path:
        name = digest.hex()
        return self._blocks / name[:2] / name

    def has(self, cid: Cid) -> bool:
        return self.path(cid.digest).is_file()

    def put(self, cid: Cid, parts: Sequence[Buffer]) -> bool:
        """Store a block given as consecutive parts; False when it was already there.

        The caller vouches for the hash. A file already there with the right size is kept (it is verified on
        every read); one with the wrong size (a torn write from before a crash) is replaced.
        """
        final = self.path(cid.digest)
        length = sum(len(part) for part in parts)
        try:
            if final.stat().st_size == length:
                return False
            log.warning("block %s on disk has the wrong size; rewriting it", cid)
        except FileNotFoundError:
            pass
        shard = final.parent.name
        if shard not in self._known_shards:
            final.parent.mkdir(exist_ok=True)
            with self._lock:
                self._known_shards.add(shard)
        # The partial file sits beside its final name: one rename within a folder, and creates spread over
        # 256 folders instead of contending for one.
        tmp = final.parent / f"{final.name}.{os.getpid()}.{next(_counter)}{_TMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, parts)
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)
        if self.fsync:
            with self._lock:
                self._dirty_shards.add(shard)
        return True

    def put_verified(self, cid: Cid, block: Buffer) -> bool:
        """Store a block that came from elsewhere, after checking it hashes to `cid`."""
        if hashlib.sha256(block).digest() != cid.digest:
            raise CidMismatch(cid, f"refusing to store a block whose bytes do not hash to {cid}")
        return self.put(cid, (block,))

    def get(self, cid: Cid) -> bytes:
        """The block's bytes, verified against `cid`."""
        path = self.path(cid.digest)
        try:
            with open(path, "rb", buffering=0) as handle:
                block = handle.read()
        except FileNotFoundError:
            raise BlockNotFound(cid) from None
        if hashlib.sha256(block).digest() != cid.digest:
            log.error("block %s on disk at %s does not match its hash", cid, path)
            raise CidMismatch(cid, f"stored block {cid} is corrupt: its bytes hash to something else")
        return block

    def size(self, digest: bytes) -> int:
        return self.path(digest).stat().st_size

    def delete(self, digest: bytes) -> int:
        """Remove a block; returns the bytes freed (0 if it was not there)."""
        path = self.path(digest)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def digests(self) -> Iterator[bytes]:
        """Every stored block's digest (files with other names are ignored)."""
        for shard in sorted(os.listdir(self._blocks)):
            shard_dir = self._blocks / shard
            if len(shard) != 2 or not shard_dir.is_dir():
                continue
            for name in os.listdir(shard_dir):
                if len(name) == 64 and name.startswith(shard):
                    with contextlib.suppress(ValueError):
                        yield bytes.fromhex(name)

    def sync(self) -> None:
        """Flush the folder entries of blocks renamed since the last call (a no-op when fsync is off)."""
        with self._lock:
            shards, self._dirty_shards = self._dirty_shards, set()
        for shard in shards:
            _fsync_dir(self._blocks / shard)

    def clean_tmp(self) -> None:
        """Remove partial writes left by a crashed process (call only when no write is in flight)."""
        for leftover in self._blocks.glob(f"??/*{_TMP_SUFFIX}"):
            leftover.unlink(missing_ok=True)


def _write_all(fd: int, parts: Sequence[Buffer]) -> None:
    views = [memoryview(part).cast("B") for part in parts if len(part)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
