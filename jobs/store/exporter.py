"""Read a UnixFS file back out of its DAG, one verified block at a time.

`get_block` must return bytes that hash to the CID asked for (both backends check before returning), so
every byte yielded here belongs to the requested root. On top of that the walk checks the structure:
nodes must be UnixFS files, `blocksizes` must match the children, and the total must equal `filesize`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from jobs.cid import Cid, Codec, InvalidCid
from jobs.store.dagpb import PBNode, UnixFSData, UnixFSType, decode_pbnode, decode_unixfs
from jobs.store.errors import CorruptDag, NotAFile

__all__ = ["ContentStat", "GetBlock", "child_cids", "iter_file", "stat_root"]

GetBlock = Callable[[Cid], bytes]
_FILE_TYPES = (UnixFSType.FILE, UnixFSType.RAW)
# Kubo's balanced trees are 5 levels deep at 174^4 chunks (over 200 TB); anything far deeper is hostile.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class ContentStat:
    """What the root block says about a file: its content size and the size of its whole DAG."""

    cid: Cid
    type: Literal["raw", "file"]
    size: int  # content bytes
    cumulative_size: int  # root block + every block below it (Kubo's CumulativeSize)
    links: int  # children of the root


def _decode_file_node(cid: Cid, block: bytes) -> tuple[PBNode, UnixFSData]:
    node = decode_pbnode(block)
    if node.data is None:
        raise CorruptDag(f"dag-pb node {cid} carries no UnixFS data")
    unixfs = decode_unixfs(node.data)
    if unixfs.type not in _FILE_TYPES:
        try:
            kind = UnixFSType(unixfs.type).name.lower()
        except ValueError:
            kind = f"type {unixfs.type}"
        raise NotAFile(f"{cid} is a UnixFS {kind}, not a file")
    if node.links and len(unixfs.blocksizes) != len(node.links):
        raise CorruptDag(f"{cid} has {len(node.links)} links but {len(unixfs.blocksizes)} blocksizes")
    return node, unixfs


def _link_cid(parent: Cid, raw: bytes) -> Cid:
    try:
        return Cid.from_bytes(raw)
    except InvalidCid as exc:
        raise CorruptDag(f"{parent} links to an unsupported CID: {exc}") from None


def iter_file(get_block: GetBlock, root: Cid) -> Iterator[memoryview | bytes]:
    """Yield the file's content in order, each piece taken from a block verified against its CID."""
    yield from _walk(get_block, root, None, 0)


def _walk(get_block: GetBlock, cid: Cid, expected: int | None, depth: int) -> Iterator[memoryview | bytes]:
    if depth > MAX_DEPTH:
        raise CorruptDag(f"{cid} sits deeper than {MAX_DEPTH} levels; refusing to follow the DAG further")
    block = get_block(cid)
    if cid.codec is Codec.RAW:
        if expected is not None and len(block) != expected:
            raise CorruptDag(f"raw leaf {cid} holds {len(block)} bytes, its parent says {expected}")
        if block:
            yield block
        return
    node, unixfs = _decode_file_node(cid, block)
    produced = 0
    if unixfs.data is not None and len(unixfs.data):
        produced += len(unixfs.data)
        yield unixfs.data
    for link, size in zip(node.links, unixfs.blocksizes, strict=False):
        yield from _walk(get_block, _link_cid(cid, link.hash), size, depth + 1)
        produced += size
    declared = unixfs.filesize if unixfs.filesize is not None else produced
    if produced != declared or (expected is not None and declared != expected):
        raise CorruptDag(f"{cid} declares {declared} bytes but its data and children hold {produced}")


def child_cids(cid: Cid, block: bytes) -> list[Cid]:
    """The CIDs a block links to (none for a raw block)."""
    if cid.codec is Codec.RAW:
        return []
    return [_link_cid(cid, link.hash) for link in decode_pbnode(block).links]


def stat_root(cid: Cid, block: bytes) -> ContentStat:
    """`ContentStat` from the root block alone (no walk)."""
    if cid.codec is Codec.RAW:
        return ContentStat(cid, "raw", len(block), len(block), 0)
    node, unixfs = _decode_file_node(cid, block)
    content = unixfs.filesize
    if content is None:
        content = (len(unixfs.data) if unixfs.data is not None else 0) + sum(unixfs.blocksizes)
    cumulative = len(block) + sum(link.tsize or 0 for link in node.links)
    return ContentStat(cid, "file", content, cumulative, len(node.links))
