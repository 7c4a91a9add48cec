"""The default backend: a local blockstore plus a pin set, building DAGs exactly as Kubo does.

    <root>/blocks/..   one file per block (see `FlatBlockstore`)
    <root>/pins.json   recursively pinned roots, rewritten atomically
    <root>/gc.lock     held shared by adds and pins, exclusively by gc (flock: threads and processes alike)
    <root>/pins.lock   held exclusively around every read-modify-write of pins.json

Adding holds the gc lock from the first block written until the root is pinned, so a concurrent `gc`
never deletes blocks of an add in flight.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from jobs.cid import Cid, CidVersion, Codec, parse_cid
from jobs.store.base import CidLike, ContentStore, GcResult, Progress, Source, open_source
from jobs.store.blockstore import Buffer, FlatBlockstore
from jobs.store.errors import NotPinned
from jobs.store.exporter import child_cids
from jobs.store.importer import ImportResult, import_stream

__all__ = ["EmbeddedStore"]

log = logging.getLogger(__name__)

_PINS_FORMAT = 1
# File creation and fsync are latency-bound; a few writers in parallel keep the disk busy while the
# importer hashes the next chunk. Blocks in flight are copies, so memory stays under _MAX_IN_FLIGHT chunks.
_WRITERS = 4
_MAX_IN_FLIGHT = 8


class _BlockWriter:
    """Writes blocks on a small thread pool; the first write error is raised to the importer."""

    def __init__(self, blocks: FlatBlockstore) -> None:
        self._blocks = blocks
        self._pool = ThreadPoolExecutor(_WRITERS, thread_name_prefix="blockstore-write")
        self._in_flight: deque[Future[bool]] = deque()

    def put(self, cid: Cid, parts: Sequence[Buffer]) -> None:
        # The importer reuses its chunk buffer: keep an immutable copy of anything that is not bytes.
        owned = tuple(part if isinstance(part, bytes) else bytes(part) for part in parts)
        while len(self._in_flight) >= _MAX_IN_FLIGHT:
            self._in_flight.popleft().result()
        self._in_flight.append(self._pool.submit(self._blocks.put, cid, owned))

    def __enter__(self) -> _BlockWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            while self._in_flight:
                future = self._in_flight.popleft()
                if exc_type is None:
                    future.result()
                else:
                    future.cancel()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class EmbeddedStore(ContentStore):
    """Blocks and pins in a local folder; no daemon, no network."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self.blocks = FlatBlockstore(self.root, fsync=fsync)
        self._pins_path = self.root / "pins.json"
        self._gc_lock = self.root / "gc.lock"
        self._pins_lock = self.root / "pins.lock"

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.root)!r})"

    # -- adding ---------------------------------------------------------------------------------------

    def add_file(
        self,
        source: Source,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> Cid:
        return self.import_file(
            source, cid_version=cid_version, only_hash=only_hash, pin=pin, progress=progress
        ).cid

    def import_file(
        self,
        source: Source,
        *,
        cid_version: CidVersion = 1,
        only_hash: bool = False,
        pin: bool = True,
        progress: Progress | None = None,
    ) -> ImportResult:
        """`add_file` returning the sizes and block count too."""
        if only_hash:
            with open_source(source) as stream:
                return import_stream(stream, cid_version=cid_version, progress=progress)
        with self._locked(self._gc_lock, fcntl.LOCK_SH), open_source(source) as stream:
            with _BlockWriter(self.blocks) as writer:
                result = import_stream(stream, cid_version=cid_version, sink=writer.put, progress=progress)
            self.blocks.sync()
            if pin:
                self._change_pins(add=result.cid)
        log.info(
            "added %s: %d bytes in %d blocks%s",
            result.cid,
            result.size,
            result.blocks,
            " (pinned)" if pin else "",
        )
        return result

    def put_block(self, cid: CidLike, block: Buffer) -> None:
        """Store one block fetched from elsewhere, refusing it (`CidMismatch`) unless it hashes to `cid`."""
        self.blocks.put_verified(parse_cid(cid), block)
        self.blocks.sync()

    # -- reading --------------------------------------------------------------------------------------

    def get_block(self, cid: CidLike) -> bytes:
        return self.blocks.get(parse_cid(cid))

    def has(self, cid: CidLike) -> bool:
        return self.blocks.has(parse_cid(cid))

    # -- pins and gc ----------------------------------------------------------------------------------

    def pin(self, cid: CidLike) -> None:
        root = parse_cid(cid)
        with self._locked(self._gc_lock, fcntl.LOCK_SH):
            self._check_complete(root)
            self._change_pins(add=root)
        log.info("pinned %s", root)

    def unpin(self, cid: CidLike) -> None:
        root = parse_cid(cid)
        self._change_pins(remove=root)
        log.info("unpinned %s", root)

    def pins(self) -> list[Cid]:
        with self._locked(self._pins_lock, fcntl.LOCK_EX):
            return self._read_pins()

    def gc(self) -> GcResult:
        with self._locked(self._gc_lock, fcntl.LOCK_EX):
            live: set[bytes] = set()
            for root in self.pins():
                self._mark(root, live)
            removed: list[Cid] = []
            freed = 0
            for digest in list(self.blocks.digests()):
                if digest not in live:
                    freed += self.blocks.delete(digest)
                    removed.append(Cid(digest, Codec.RAW, 1))
            self.blocks.clean_tmp()
        log.info("gc removed %d blocks (%d bytes)", len(removed), freed)
        return GcResult(tuple(removed), freed)

    def _walk(self, root: Cid) -> Iterator[Cid]:
        """Every CID in the DAG; dag-pb blocks are read (verified) to follow links, raw leaves are not."""
        stack = [root]
        seen: set[bytes] = set()
        while stack:
            cid = stack.pop()
            if cid.digest in seen:  # a repeated chunk (zeros, say) has one subtree, walked once
                continue
            seen.add(cid.digest)
            yield cid
            if cid.codec is Codec.DAG_PB:
                stack.extend(reversed(child_cids(cid, self.blocks.get(cid))))

    def _check_complete(self, root: Cid) -> None:
        for cid in self._walk(root):
            if cid.codec is Codec.RAW and not self.blocks.has(cid):
                self.blocks.get(cid)  # raises BlockNotFound with the CID

    def _mark(self, root: Cid, live: set[bytes]) -> None:
        # A pinned DAG that cannot be walked (missing or corrupt block) stops gc before anything is removed.
        for cid in self._walk(root):
            live.add(cid.digest)

    def _read_pins(self) -> list[Cid]:
        try:
            document = json.loads(self._pins_path.read_text())
        except FileNotFoundError:
            return []
        return [Cid.parse(text) for text in document.get("recursive", [])]

    def _change_pins(self, *, add: Cid | None = None, remove: Cid | None = None) -> None:
        with self._locked(self._pins_lock, fcntl.LOCK_EX):
            pins = self._read_pins()
            if add is not None and add not in pins:
                pins.append(add)
            if remove is not None:
                if remove not in pins:
                    raise NotPinned(f"{remove} is not pinned")
                pins = [pinned for pinned in pins if pinned != remove]
            self._write_pins(pins)

    def _write_pins(self, pins: list[Cid]) -> None:
        document = {"format": _PINS_FORMAT, "recursive": sorted(str(cid) for cid in pins)}
        tmp = self._pins_path.with_name(f"pins.json.{os.getpid()}.tmp")
        with tmp.open("w") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
            out.flush()
            if self.blocks.fsync:
                os.fsync(out.fileno())
        os.replace(tmp, self._pins_path)
        if self.blocks.fsync:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _locked(self, path: Path, mode: int) -> Iterator[None]:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock
