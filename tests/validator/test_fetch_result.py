"""Which side a result that cannot be read counts against: the provider's, or this node's own store.

A result whose blocks all hash right but do not form a file was published that way by the provider, so
it counts like a missing result (voted withheld once the provider had its time); a store that cannot be
reached is this node's trouble, and must never be held against the provider.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jobs.cid import Cid
from jobs.store import EmbeddedStore
from jobs.store.dagpb import encode_pbnode
from jobs.store.kubo import KuboStore
from validator.errors import ResultUnavailable
from validator.verify import Verifier

# Kubo's empty folder: a well-formed UnixFS directory node, which is not a file.
EMPTY_FOLDER = Cid.parse("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354")


def _verifier(store: Any, tmp_path: Path) -> Verifier:
    return Verifier(store, executor=None, bundles=None, work_dir=tmp_path / "work", me="0x" + "11" * 20)  # type: ignore[arg-type]


def _fetch(verifier: Verifier, cid: Cid, folder: Path) -> Path:
    submission: Any = SimpleNamespace(result_cid=cid)
    bundle: Any = SimpleNamespace(manifest=SimpleNamespace(outputs=SimpleNamespace(max_size_mib=1)))
    return verifier._fetch_result(submission, bundle, folder)


def test_a_result_that_is_a_folder_node_counts_against_the_provider(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    store.put_block(EMPTY_FOLDER, encode_pbnode([], b"\x08\x01"))
    with pytest.raises(ResultUnavailable) as caught:
        _fetch(_verifier(store, tmp_path), EMPTY_FOLDER, tmp_path / "job")
    assert caught.value.missing, "an unusable DAG the provider published must count as withheld"
    assert not (tmp_path / "job" / "result").exists()


def test_a_result_missing_from_the_store_counts_against_the_provider(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    absent = EmbeddedStore(tmp_path / "elsewhere").add_bytes(b"never published here")
    with pytest.raises(ResultUnavailable) as caught:
        _fetch(_verifier(store, tmp_path), absent, tmp_path / "job")
    assert caught.value.missing


def test_an_unreachable_store_is_this_nodes_trouble(tmp_path: Path) -> None:
    # A real Kubo client pointed at a port nothing listens on.
    store = KuboStore("http://127.0.0.1:9", timeout=2.0)
    cid = EmbeddedStore(tmp_path / "store").add_bytes(b"some result")
    with pytest.raises(ResultUnavailable) as caught:
        _fetch(_verifier(store, tmp_path), cid, tmp_path / "job")
    assert not caught.value.missing, "the node's own store failing must not be held against the provider"


def test_a_published_result_is_extracted(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"weights"
        info = tarfile.TarInfo("model.pt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    cid = store.add_bytes(buffer.getvalue())
    result = _fetch(_verifier(store, tmp_path), cid, tmp_path / "job")
    assert (result / "model.pt").read_bytes() == b"weights"
