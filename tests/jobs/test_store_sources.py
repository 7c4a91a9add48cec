"""Content sources: a node's store fetches what it lacks from a real gateway (served on 127.0.0.1), verified
against the CID whichever source answers; a source that lies or is down is skipped, and when none has the
content the error names each source and why."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.main import create_app
from chain.anvil import free_port
from jobs.cid import Cid
from jobs.store import (
    BlockNotFound,
    ContentMissing,
    ContentSources,
    EmbeddedStore,
    GatewaySource,
    SourcedStore,
    SourceUnavailable,
    StoreSource,
    open_node_content,
)
from jobs.store.settings import StoreSettings
from tests.api.live_gateway import gateway_settings, serve

CONTENT = os.urandom(600 * 1024)  # three chunks: a dag-pb root over raw leaves


@pytest.fixture
def gateway_app(tmp_path: Path) -> FastAPI:
    return create_app(gateway_settings(tmp_path / "gateway"))


@pytest.fixture
def gateway_url(gateway_app: FastAPI) -> Iterator[str]:
    with serve(gateway_app) as url:
        yield url


@pytest.fixture
def local(tmp_path: Path) -> Iterator[EmbeddedStore]:
    with EmbeddedStore(tmp_path / "node-store", fsync=False) as store:
        yield store


def on_gateway(app: FastAPI, data: bytes, **add: int) -> Cid:
    cid: Cid = app.state.gateway.store.add_bytes(data, **add)
    return cid


class HostileGateway:
    """Answers every GET /ipfs/... with `body` (bytes that are not the content asked for)."""

    def __init__(self, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[HostileGateway]:
    tampered = bytearray(CONTENT)
    tampered[1000] ^= 0xFF
    server = HostileGateway(bytes(tampered))
    yield server
    server.close()


def test_content_only_the_gateway_has_is_fetched_verified_and_kept(
    gateway_app: FastAPI, local: EmbeddedStore, tmp_path: Path
) -> None:
    cid = on_gateway(gateway_app, CONTENT)
    assert not local.has(cid)
    with serve(gateway_app) as url:
        store = SourcedStore(local, [GatewaySource(url)])
        assert store.stat(cid).size == len(CONTENT)
        assert store.read_bytes(cid) == CONTENT
    assert cid in local.pins()  # kept, pinned: a later gc leaves it
    assert store.read_bytes(cid) == CONTENT  # the gateway is gone; the local copy serves
    store.close()


def test_a_source_that_serves_other_bytes_is_refused_and_the_next_one_is_used(
    gateway_app: FastAPI,
    gateway_url: str,
    hostile: HostileGateway,
    local: EmbeddedStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cid = on_gateway(gateway_app, CONTENT)
    store = SourcedStore(local, [GatewaySource(hostile.url), GatewaySource(gateway_url)])
    with caplog.at_level(logging.INFO, logger="jobs.store.sources"):
        assert store.read_bytes(cid) == CONTENT
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(refused) == 1 and f"the gateway at {hostile.url} served" in refused[0]
    assert f"for {cid} that hash to" in refused[0] and "refused" in refused[0]
    assert any(f"fetched from the gateway at {gateway_url}" in r.getMessage() for r in caplog.records)


def test_bytes_no_source_vouches_for_never_reach_the_store(
    hostile: HostileGateway, local: EmbeddedStore
) -> None:
    cid = local.add_bytes(CONTENT, only_hash=True)
    store = SourcedStore(local, [GatewaySource(hostile.url)])
    with pytest.raises(SourceUnavailable) as caught:
        store.read_bytes(cid)
    assert f"the gateway at {hostile.url}: served other bytes" in str(caught.value)
    assert local.pins() == [] and list(local.blocks.digests()) == []


def test_a_source_that_is_down_is_skipped_with_its_reason(
    gateway_app: FastAPI, gateway_url: str, local: EmbeddedStore, caplog: pytest.LogCaptureFixture
) -> None:
    cid = on_gateway(gateway_app, CONTENT)
    dead = f"http://127.0.0.1:{free_port()}"
    store = SourcedStore(local, [GatewaySource(dead), GatewaySource(gateway_url)])
    with caplog.at_level(logging.WARNING, logger="jobs.store.sources"):
        assert store.read_bytes(cid) == CONTENT
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 1 and f"the gateway at {dead} skipped for {cid}: unreachable" in skipped[0]


def test_when_no_source_has_it_the_error_names_each_source_and_why(
    gateway_url: str, local: EmbeddedStore
) -> None:
    cid = local.add_bytes(b"nobody has this", only_hash=True)
    dead = f"http://127.0.0.1:{free_port()}"
    store = SourcedStore(local, [GatewaySource(gateway_url), GatewaySource(dead)])
    with pytest.raises(SourceUnavailable) as caught:
        store.read_bytes(cid)
    message = str(caught.value)
    assert message.startswith(f"{cid} could not be had from any source: the local store (")
    assert f"the gateway at {gateway_url}: does not have it" in message
    assert f"the gateway at {dead}: unreachable" in message
    # Every source reached answered "not here": the content is missing (what a validator votes withheld).
    only_reached = SourcedStore(local, [GatewaySource(gateway_url)])
    with pytest.raises(ContentMissing) as missing:
        only_reached.read_bytes(cid)
    assert isinstance(missing.value, BlockNotFound)


def test_a_source_that_sends_too_much_is_cut_off(
    gateway_app: FastAPI, gateway_url: str, tmp_path: Path
) -> None:
    cid = on_gateway(gateway_app, CONTENT)
    with (
        (tmp_path / "spool").open("w+b") as out,
        pytest.raises(SourceUnavailable, match="sent more than the 1024 bytes a fetch may take"),
    ):
        ContentSources([GatewaySource(gateway_url)]).fetch_to(cid, out, max_bytes=1024)


def test_a_dag_built_as_cidv0_verifies_by_either_form_of_its_cid(
    gateway_app: FastAPI, gateway_url: str, local: EmbeddedStore
) -> None:
    cid = on_gateway(gateway_app, CONTENT, cid_version=0)
    assert cid.version == 0 and str(cid).startswith("Qm")
    store = SourcedStore(local, [GatewaySource(gateway_url)])
    as_on_chain = Cid.from_chain(*cid.to_chain())  # the chain keeps digest and codec, printed as CIDv1
    assert store.read_bytes(as_on_chain) == CONTENT
    assert local.has(cid)


def test_another_store_is_a_source_too(local: EmbeddedStore, tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "elsewhere", fsync=False) as elsewhere:
        cid = elsewhere.add_bytes(CONTENT)
        store = SourcedStore(local, [StoreSource(elsewhere)])
        assert store.read_bytes(cid) == CONTENT
        store.close()
        assert elsewhere.read_bytes(cid) == CONTENT  # a store handed in is not closed with the sources


def test_a_node_opened_with_defaults_reads_through_its_store_then_the_gateway(
    gateway_app: FastAPI, gateway_url: str, tmp_path: Path
) -> None:
    cid = on_gateway(gateway_app, CONTENT)
    settings = StoreSettings(store_dir=tmp_path / "store", kubo_api=None, store_fsync=False)
    with open_node_content(settings, gateway_url=gateway_url) as store:
        assert [source.label for source in store.sources.sources] == [f"the gateway at {gateway_url}"]
        assert store.read_bytes(cid) == CONTENT
        assert isinstance(store.local, EmbeddedStore) and store.local.has(cid)
