"""The embedded store: add/cat round trips, verification on every read, inner CIDs, pins and gc, streaming."""

from __future__ import annotations

import gc as python_gc
import io
import json
import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from jobs.cid import Cid, Codec, block_cid
from jobs.errors import JobsError
from jobs.store import (
    BlockNotFound,
    CidMismatch,
    CorruptDag,
    EmbeddedStore,
    NotAFile,
    NotPinned,
    StoreSettings,
    open_store,
)
from jobs.store.dagpb import decode_pbnode, encode_link, encode_pbnode, encode_unixfs_file
from jobs.store.importer import CHUNK_SIZE

MakeBytes = Callable[[str, int], bytes]


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


def _flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


# -- round trips ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE + 3])
@pytest.mark.parametrize("version", [0, 1])
def test_add_then_cat_returns_the_bytes(
    store: EmbeddedStore, make_bytes: MakeBytes, size: int, version: int
) -> None:
    data = make_bytes(f"roundtrip-{size}", size)
    cid = store.add_bytes(data, cid_version=version)  # type: ignore[arg-type]
    assert cid.version == version
    assert b"".join(store.cat(cid)) == data
    assert store.read_bytes(str(cid)) == data
    assert store.open(cid).read() == data
    assert store.has(cid)


def test_add_file_from_path_and_stream_agree(
    store: EmbeddedStore, tmp_path: Path, make_bytes: MakeBytes
) -> None:
    data = make_bytes("path-vs-stream", 3 * CHUNK_SIZE + 10)
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    from_path = store.add_file(path)
    from_str_path = store.add_file(str(path))
    with path.open("rb") as handle:
        from_stream = store.add_file(handle)
    assert from_path == from_str_path == from_stream == store.add_file(path, only_hash=True)


def test_known_kubo_cids(store: EmbeddedStore) -> None:
    assert (
        str(store.add_bytes(b"hello world\n"))
        == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    )
    assert (
        str(store.add_bytes(b"hello world\n", cid_version=0))
        == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    )
    assert str(store.add_bytes(b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert str(store.add_bytes(b"", cid_version=0)) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert store.read_bytes("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o") == b"hello world\n"
    assert store.read_bytes("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku") == b""


def test_only_hash_stores_nothing(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    cid = store.add_bytes(make_bytes("only-hash", 2 * CHUNK_SIZE), only_hash=True)
    assert not store.has(cid)
    assert list(store.blocks.digests()) == []
    assert store.pins() == []


def test_a_failed_block_write_fails_the_add_and_pins_nothing(
    store: EmbeddedStore, make_bytes: MakeBytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put = store.blocks.put
    calls = 0

    def failing_put(cid: Cid, parts: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        return real_put(cid, parts)  # type: ignore[arg-type]

    monkeypatch.setattr(store.blocks, "put", failing_put)
    with pytest.raises(OSError, match="No space left"):
        store.add_bytes(make_bytes("disk-full", 6 * CHUNK_SIZE))
    assert store.pins() == []


def test_get_writes_the_file(store: EmbeddedStore, tmp_path: Path, make_bytes: MakeBytes) -> None:
    data = make_bytes("get", CHUNK_SIZE + 1)
    cid = store.add_bytes(data)
    target = store.get(cid, tmp_path / "out.bin")
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "store"]


def test_stat_reads_the_root(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    data = make_bytes("stat", 2 * CHUNK_SIZE + 5)
    cid = store.add_bytes(data)
    info = store.stat(cid)
    assert (info.type, info.size, info.links) == ("file", len(data), 3)
    blocks_bytes = sum(store.blocks.size(digest) for digest in store.blocks.digests())
    assert info.cumulative_size == blocks_bytes
    raw = store.stat(store.add_bytes(b"abc"))
    assert (raw.type, raw.size, raw.cumulative_size) == ("raw", 3, 3)


def test_layout_on_disk_is_sharded_by_digest(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"hello world\n")
    name = cid.digest.hex()
    assert (store.root / "blocks" / name[:2] / name).read_bytes() == b"hello world\n"
    assert list(store.root.glob("blocks/*/*.partial")) == []


# -- inner CIDs -----------------------------------------------------------------------------------------


def test_every_inner_and_leaf_cid_is_served_and_verified(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    data = make_bytes("inner", 175 * CHUNK_SIZE + 17)  # depth 2: root -> two nodes -> leaves
    root = store.add_bytes(data)
    top = [Cid.from_bytes(link.hash) for link in decode_pbnode(store.get_block(root)).links]
    assert len(top) == 2
    first, second = top
    assert store.read_bytes(first) == data[: 174 * CHUNK_SIZE]
    assert store.read_bytes(second) == data[174 * CHUNK_SIZE :]
    leaves = [Cid.from_bytes(link.hash) for link in decode_pbnode(store.get_block(second)).links]
    assert [leaf.codec for leaf in leaves] == [Codec.RAW, Codec.RAW]
    assert store.get_block(leaves[1]) == data[-17:]
    assert store.read_bytes(leaves[0]) == data[174 * CHUNK_SIZE : 175 * CHUNK_SIZE]
    assert store.stat(second).size == CHUNK_SIZE + 17


def test_v0_and_v1_names_of_one_node_read_the_same(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    data = make_bytes("v0v1", 2 * CHUNK_SIZE)
    cid = store.add_bytes(data, cid_version=0)
    assert store.read_bytes(cid.to_v1()) == data


# -- verification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_tampered_leaf_raises_and_its_bytes_are_never_served(
    store: EmbeddedStore, make_bytes: MakeBytes, version: int
) -> None:
    data = make_bytes("tamper-leaf", 3 * CHUNK_SIZE)
    root = store.add_bytes(data, cid_version=version)  # type: ignore[arg-type]
    second_leaf = Cid.from_bytes(decode_pbnode(store.get_block(root)).links[1].hash)
    _flip_byte(store.blocks.path(second_leaf.digest), offset=CHUNK_SIZE // 2)
    served = bytearray()
    with pytest.raises(CidMismatch) as raised:
        for chunk in store.cat(root):
            served += chunk
    assert raised.value.cid == second_leaf
    assert bytes(served) == data[:CHUNK_SIZE]  # the first, intact chunk only
    with pytest.raises(CidMismatch):
        store.get_block(second_leaf)


def test_tampered_root_raises_before_any_byte(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("tamper-root", 2 * CHUNK_SIZE))
    _flip_byte(store.blocks.path(root.digest), offset=5)
    with pytest.raises(CidMismatch):
        next(store.cat(root))
    with pytest.raises(CidMismatch):
        store.stat(root)


def test_tampered_single_block_file_raises(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"hello world\n")
    _flip_byte(store.blocks.path(cid.digest))
    with pytest.raises(CidMismatch):
        store.read_bytes(cid)


def test_truncated_block_raises(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("truncate", 2 * CHUNK_SIZE))
    leaf = Cid.from_bytes(decode_pbnode(store.get_block(root)).links[0].hash)
    path = store.blocks.path(leaf.digest)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(CidMismatch):
        store.read_bytes(root)


def test_re_adding_repairs_a_torn_block(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    data = make_bytes("repair", 2 * CHUNK_SIZE)
    root = store.add_bytes(data)
    leaf = Cid.from_bytes(decode_pbnode(store.get_block(root)).links[1].hash)
    path = store.blocks.path(leaf.digest)
    path.write_bytes(path.read_bytes()[:100])  # as if a crash cut the write short
    assert store.add_bytes(data) == root
    assert store.read_bytes(root) == data


def test_missing_block_raises_block_not_found(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("missing", 2 * CHUNK_SIZE))
    leaf = Cid.from_bytes(decode_pbnode(store.get_block(root)).links[1].hash)
    store.blocks.path(leaf.digest).unlink()
    with pytest.raises(BlockNotFound) as raised:
        store.read_bytes(root)
    assert raised.value.cid == leaf
    assert isinstance(raised.value, JobsError)


def test_put_block_refuses_bytes_that_do_not_match(store: EmbeddedStore) -> None:
    cid = Cid.parse("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")
    with pytest.raises(CidMismatch):
        store.put_block(cid, b"hello world?")
    assert not store.has(cid)
    store.put_block(cid, b"hello world\n")
    assert store.read_bytes(cid) == b"hello world\n"


def test_directory_node_is_refused(store: EmbeddedStore) -> None:
    directory = encode_pbnode([], b"\x08\x01")  # UnixFS Data{Type: Directory}
    cid = Cid.parse("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")  # Kubo's empty folder
    store.put_block(cid, directory)
    with pytest.raises(NotAFile):
        store.read_bytes(cid)


# -- pins and gc ----------------------------------------------------------------------------------------


def test_add_pins_by_default(store: EmbeddedStore) -> None:
    pinned = store.add_bytes(b"pinned")
    loose = store.add_bytes(b"loose", pin=False)
    assert store.pins() == [pinned]
    result = store.gc()
    assert result.removed == (Cid(loose.digest, Codec.RAW),)
    assert result.freed_bytes == len(b"loose")
    assert store.has(pinned) and not store.has(loose)


def test_unpin_then_gc_removes_every_block(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("unpin", 3 * CHUNK_SIZE), cid_version=0)
    assert store.pins() == [root]
    store.unpin(root)
    assert store.pins() == []
    assert len(store.gc().removed) == 4
    assert list(store.blocks.digests()) == []
    with pytest.raises(BlockNotFound):
        store.read_bytes(root)


def test_gc_keeps_blocks_shared_with_a_pinned_file(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    shared = make_bytes("shared", 2 * CHUNK_SIZE)
    keep = store.add_bytes(shared + b"keep")
    drop = store.add_bytes(shared + b"drop")
    store.unpin(drop)
    removed = store.gc().removed
    assert len(removed) == 2  # drop's root and its last leaf; the two shared leaves stay
    assert store.read_bytes(keep) == shared + b"keep"


def test_pin_requires_every_block(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("pin-missing", 2 * CHUNK_SIZE), pin=False)
    leaf = Cid.from_bytes(decode_pbnode(store.get_block(root)).links[0].hash)
    store.blocks.path(leaf.digest).unlink()
    with pytest.raises(BlockNotFound):
        store.pin(root)
    assert store.pins() == []


def test_pin_is_idempotent_and_unpin_of_unpinned_raises(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"twice", pin=False)
    store.pin(cid)
    store.pin(str(cid))
    assert store.pins() == [cid]
    store.unpin(cid)
    with pytest.raises(NotPinned):
        store.unpin(cid)


def test_pins_survive_reopening(tmp_path: Path) -> None:
    cid = EmbeddedStore(tmp_path / "s").add_bytes(b"persistent")
    reopened = EmbeddedStore(tmp_path / "s")
    assert reopened.pins() == [cid]
    assert json.loads((tmp_path / "s" / "pins.json").read_text())["recursive"] == [str(cid)]


def test_gc_removes_partial_writes_left_by_a_crash(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"kept")
    stray = store.blocks.path(cid.digest).with_name(cid.digest.hex() + ".123.0.partial")
    stray.write_bytes(b"half a blo")
    store.gc()
    assert not stray.exists()
    assert store.read_bytes(cid) == b"kept"


def test_gc_refuses_when_a_pinned_dag_is_corrupt(store: EmbeddedStore, make_bytes: MakeBytes) -> None:
    root = store.add_bytes(make_bytes("corrupt-pin", 2 * CHUNK_SIZE))
    loose = store.add_bytes(b"loose", pin=False)
    _flip_byte(store.blocks.path(root.digest), offset=3)
    with pytest.raises(CidMismatch):
        store.gc()
    assert store.has(loose)  # nothing removed


def test_gc_during_concurrent_adds_keeps_every_pinned_file(tmp_path: Path, make_bytes: MakeBytes) -> None:
    root = tmp_path / "concurrent"
    inputs = [make_bytes(f"concurrent-{i}", 2 * CHUNK_SIZE + i) for i in range(6)]
    added: list[Cid] = []
    errors: list[BaseException] = []

    def add_all() -> None:
        store = EmbeddedStore(root, fsync=False)
        try:
            added.extend(store.add_bytes(data) for data in inputs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def collect() -> None:
        store = EmbeddedStore(root, fsync=False)
        try:
            for _ in range(2000):  # bounded; stops as soon as the adds are done
                store.gc()
                if not threads[0].is_alive():
                    break
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add_all), threading.Thread(target=collect)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    store = EmbeddedStore(root)
    store.gc()
    assert sorted(map(str, store.pins())) == sorted(map(str, added))
    for cid, data in zip(added, inputs, strict=True):
        assert store.read_bytes(cid) == data


# -- streaming ------------------------------------------------------------------------------------------


def test_add_and_cat_of_64_mb_stay_in_bounded_memory(
    store: EmbeddedStore, deterministic_stream: Callable[[str, int], io.RawIOBase]
) -> None:
    size = 64 << 20
    python_gc.collect()
    tracemalloc.start()
    try:
        cid = store.add_file(deterministic_stream("stream-64", size))  # type: ignore[arg-type]
        _, add_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = sum(len(chunk) for chunk in store.cat(cid))
        _, cat_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    print(f"tracemalloc peaks: add {add_peak} B, cat {cat_peak} B for a {size} B file")
    # The chunk buffer, up to 8 blocks queued for the writer threads, the generator's 1 MiB block:
    # a few MiB whatever the file size.
    assert add_peak < 8 << 20, add_peak
    assert cat_peak < 4 << 20, cat_peak


# -- settings -------------------------------------------------------------------------------------------


def test_open_store_defaults_to_embedded_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CROWDCOMPUTE_STORE_DIR", raising=False)
    monkeypatch.delenv("CROWDCOMPUTE_KUBO_API", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    store = open_store()
    assert isinstance(store, EmbeddedStore)
    assert store.root == tmp_path / ".crowdcompute" / "store"


def test_open_store_honours_the_store_dir_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CROWDCOMPUTE_KUBO_API", raising=False)
    monkeypatch.setenv("CROWDCOMPUTE_STORE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("CROWDCOMPUTE_STORE_FSYNC", "false")
    store = open_store()
    assert isinstance(store, EmbeddedStore)
    assert store.root == tmp_path / "elsewhere"
    assert store.blocks.fsync is False
    given = open_store(StoreSettings(store_dir=tmp_path / "given"))
    assert isinstance(given, EmbeddedStore)
    assert given.root == tmp_path / "given"


def test_store_files_are_created_with_sane_modes(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"mode")
    mode = os.stat(store.blocks.path(cid.digest)).st_mode & 0o777
    assert mode & 0o600 == 0o600


# -- hostile DAGs (they hash correctly; their structure is what is wrong) --------------------------------


def _put_node(store: EmbeddedStore, links: list[tuple[Cid, int]], filesize: int, sizes: list[int]) -> Cid:
    block = encode_pbnode(
        [encode_link(cid.to_bytes(), tsize) for cid, tsize in links], encode_unixfs_file(filesize, sizes)
    )
    cid = block_cid(block, Codec.DAG_PB)
    store.put_block(cid, block)
    return cid


def test_blocksizes_that_disagree_with_the_children_raise(store: EmbeddedStore) -> None:
    leaf = store.add_bytes(b"12345")
    liar = _put_node(store, [(leaf, 5)], 9, [9])  # claims 9 bytes under a 5-byte leaf
    with pytest.raises(CorruptDag):
        store.read_bytes(liar)


def test_filesize_that_disagrees_with_blocksizes_raises(store: EmbeddedStore) -> None:
    leaf = store.add_bytes(b"12345")
    liar = _put_node(store, [(leaf, 5)], 6, [5])
    with pytest.raises(CorruptDag):
        store.read_bytes(liar)


def test_garbage_protobuf_raises_corrupt_dag(store: EmbeddedStore) -> None:
    block = b"\x12\xff\xff\xff"  # a Links field whose length runs past the block
    cid = block_cid(block, Codec.DAG_PB)
    store.put_block(cid, block)
    with pytest.raises(CorruptDag):
        store.read_bytes(cid)


def test_absurdly_deep_dag_is_refused(store: EmbeddedStore) -> None:
    cid = store.add_bytes(b"x")
    for _ in range(40):
        cid = _put_node(store, [(cid, 1)], 1, [1])
    with pytest.raises(CorruptDag, match="deeper"):
        store.read_bytes(cid)
