"""Turn a byte stream into a UnixFS file DAG exactly as Kubo's `ipfs add` does.

- Fixed-size chunks of 256 KiB (`--chunker=size-262144`), the last one shorter; an empty file is one
  empty leaf.
- CIDv1 (`--cid-version=1`, which implies `--raw-leaves`): leaves are raw blocks (codec 0x55), inner nodes
  dag-pb CIDv1. CIDv0 (Kubo's plain `ipfs add`): leaves are dag-pb `UnixFS{File, Data=chunk, filesize}` nodes.
- Balanced layout, at most 174 links per node. A one-chunk file is its leaf; otherwise every leaf sits at
  the same depth, nodes fill left to right, and a node is closed only when another child must be added
  to its level and it is full. This is the order in which Kubo's balanced builder fills its tree, so the
  same leaves give the same nodes.
- Inner nodes: `PBNode{Links: [Hash, Name="", Tsize]..., Data: UnixFS{File, filesize, blocksizes...}}`,
  where Tsize is the child's block size plus its own children's Tsize (Kubo's cumulative size).

Memory stays bounded whatever the input size: one chunk buffer plus up to 174 pending links per level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from jobs.cid import Cid, CidVersion, Codec
from jobs.store.dagpb import encode_link, encode_pbnode, encode_unixfs_file, leaf_envelope

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "BlockSink",
    "DagBuilder",
    "ImportResult",
    "import_stream",
]

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174

Buffer = bytes | bytearray | memoryview


class BlockSink(Protocol):
    """Receives each finished block as parts to be written one after another (no concatenation copy).

    The parts may be views into a buffer reused for the next chunk: a sink must consume them before returning.
    """

    def __call__(self, cid: Cid, parts: Sequence[Buffer], /) -> None: ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    cid: Cid
    size: int  # bytes of file content
    cumulative_size: int  # bytes of every block in the DAG (Kubo's "Size" in `ipfs add` output)
    blocks: int


@dataclass(frozen=True, slots=True)
class _Child:
    cid_bytes: bytes
    tsize: int  # cumulative size of the child's DAG
    filesize: int  # content bytes under the child


class DagBuilder:
    """Incremental UnixFS importer: feed bytes with `write` (or chunks with `add_chunk`), then `finish`."""

    def __init__(
        self,
        cid_version: CidVersion = 1,
        sink: BlockSink | None = None,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
    ) -> None:
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, not {cid_version!r}")
        if chunk_size < 1 or max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")
        self.cid_version: CidVersion = cid_version
        self.chunk_size = chunk_size
        self.max_links = max_links
        self._sink = sink
        self._levels: list[list[_Child]] = [[]]
        self._pending = bytearray()
        self._leaves = 0
        self._blocks = 0
        self._size = 0
        self._last_short = False
        self._result: ImportResult | None = None
        self._envelopes: dict[int, tuple[bytes, bytes]] = {}

    @property
    def size(self) -> int:
        """Content bytes taken so far."""
        return self._size + len(self._pending)

    def write(self, data: Buffer) -> None:
        """Append content; full chunks become leaves as soon as they are complete."""
        view = memoryview(data).cast("B")
        pending = self._pending
        if pending:
            take = min(self.chunk_size - len(pending), len(view))
            pending += view[:take]
            view = view[take:]
            if len(pending) < self.chunk_size:
                return
            self.add_chunk(pending)
            pending.clear()
        while len(view) >= self.chunk_size:
            self.add_chunk(view[: self.chunk_size])
            view = view[self.chunk_size :]
        pending += view

    def add_chunk(self, chunk: Buffer) -> None:
        """Add one leaf. Only the last chunk of a file may be shorter than `chunk_size`."""
        if self._result is not None:
            raise RuntimeError("DagBuilder already finished")
        length = len(chunk)
        if length > self.chunk_size:
            raise ValueError(f"chunk of {length} bytes exceeds the chunk size {self.chunk_size}")
        if self._last_short:
            raise ValueError("a short chunk must be the last one")
        if length < self.chunk_size:
            self._last_short = True
        self._push(0, self._leaf(chunk))
        self._leaves += 1
        self._size += length

    def finish(self) -> ImportResult:
        """Close every open node and return the root; blocks reach the sink before this returns."""
        if self._result is not None:
            return self._result
        if self._pending:
            self.add_chunk(self._pending)
            self._pending = bytearray()
        if self._leaves == 0:
            self._push(0, self._leaf(b""))
            self._leaves = 1
        level = 0
        while level < len(self._levels) - 1:
            self._push(level + 1, self._node(self._levels[level]))
            self._levels[level] = []
            level += 1
        top = self._levels[-1]
        # A one-chunk file is its leaf; anything else gets a node over the top level.
        root = top[0] if len(self._levels) == 1 and len(top) == 1 else self._node(top)
        cid = Cid.from_bytes(root.cid_bytes)
        if self.cid_version == 1:
            cid = cid.to_v1()
        self._result = ImportResult(cid, self._size, root.tsize, self._blocks)
        return self._result

    def _push(self, level: int, child: _Child) -> None:
        if level == len(self._levels):
            self._levels.append([])
        siblings = self._levels[level]
        if len(siblings) == self.max_links:
            self._push(level + 1, self._node(siblings))
            siblings = self._levels[level] = []
        siblings.append(child)

    def _emit(self, cid: Cid, parts: Sequence[Buffer]) -> None:
        self._blocks += 1
        if self._sink is not None:
            self._sink(cid, parts)

    def _leaf(self, chunk: Buffer) -> _Child:
        length = len(chunk)
        if self.cid_version == 1:
            cid = Cid(hashlib.sha256(chunk).digest(), Codec.RAW, 1)
            self._emit(cid, (chunk,))
            return _Child(cid.to_bytes(), length, length)
        if length == 0:  # Kubo leaves the Data field out of an empty leaf
            block = encode_pbnode((), encode_unixfs_file(0))
            cid = Cid(hashlib.sha256(block).digest(), Codec.DAG_PB, 0)
            self._emit(cid, (block,))
            return _Child(cid.to_bytes(), len(block), 0)
        envelope = self._envelopes.get(length)
        if envelope is None:
            envelope = self._envelopes[length] = leaf_envelope(length)
        prefix, suffix = envelope
        hasher = hashlib.sha256(prefix)
        hasher.update(chunk)
        hasher.update(suffix)
        cid = Cid(hasher.digest(), Codec.DAG_PB, 0)
        self._emit(cid, (prefix, chunk, suffix))
        return _Child(cid.to_bytes(), len(prefix) + length + len(suffix), length)

    def _node(self, children: Sequence[_Child]) -> _Child:
        links = [encode_link(child.cid_bytes, child.tsize) for child in children]
        sizes = [child.filesize for child in children]
        filesize = sum(sizes)
        block = encode_pbnode(links, encode_unixfs_file(filesize, sizes))
        cid = Cid(hashlib.sha256(block).digest(), Codec.DAG_PB, self.cid_version)
        self._emit(cid, (block,))
        return _Child(cid.to_bytes(), len(block) + sum(child.tsize for child in children), filesize)


def _fill(stream: BinaryIO, view: memoryview) -> int:
    """Read until `view` is full or the stream ends (like Go's io.ReadFull); returns the bytes read."""
    filled = 0
    total = len(view)
    readinto = getattr(stream, "readinto", None)
    while filled < total:
        if readinto is not None:
            count = readinto(view[filled:])
        else:
            data = stream.read(total - filled)
            count = len(data)
            view[filled : filled + count] = data
        if not count:
            break
        filled += count
    return filled


def import_stream(
    stream: BinaryIO,
    *,
    cid_version: CidVersion = 1,
    sink: BlockSink | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Chunk `stream` into a UnixFS DAG, reading 256 KiB at a time into one reused buffer.

    `progress` is called with the total content bytes read after every chunk.
    """
    builder = DagBuilder(cid_version, sink)
    buffer = bytearray(builder.chunk_size)
    view = memoryview(buffer)
    total = 0
    while True:
        count = _fill(stream, view)
        if count:
            builder.add_chunk(view[:count])
            total += count
            if progress is not None:
                progress(total)
        if count < len(view):
            break
    return builder.finish()
