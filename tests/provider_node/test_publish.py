"""Content that finds its way, on the real chain and a real gateway (uvicorn on 127.0.0.1, indexing the
session's anvil): the requester uploads a bundle to the gateway only; a provider and a validator, each
with its default-style folder and its own store, find the bundle through the gateway; the provider
publishes its result there before submitting, and the validator fetches it from there."""

from __future__ import annotations

import io
import logging
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.main import create_app
from chain import AnvilProcess, Deployment, DevChain, JobStatus, MarketClient, Role, save_deployment
from chain.anvil import free_port
from crowdcompute.requester import GatewayClient
from jobs.bundle import BundleCache, bundle_cid, pack_directory
from jobs.cid import Cid
from jobs.store import EmbeddedStore, SourcedStore, StoreSettings, open_node_content
from node_base import node_data_dir
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from tests.api.live_gateway import gateway_settings, serve
from tests.provider_node.fake_executors import NestedOutputExecutor
from tests.provider_node.provider_jobs import make_bundle, manifest_text, post_job

OUTPUT = {"model.bin": b"final model", "checkpoints/notes.txt": b"epoch 1\n" * 1000}


@pytest.fixture
def gateway_app(tmp_path: Path, anvil: AnvilProcess, deployment: Deployment, dev_chain: DevChain) -> FastAPI:
    deployments = tmp_path / "deployments"
    save_deployment(deployment, deployments)
    settings = gateway_settings(
        tmp_path / "gateway",
        rpc_url=anvil.url,
        chain_id=anvil.chain_id,
        deployments_dir=deployments,
        indexer_enabled=True,
    )
    return create_app(settings)


@pytest.fixture
def gateway_url(gateway_app: FastAPI) -> Iterator[str]:
    with serve(gateway_app) as url:
        yield url


def machine(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine's home folder: the nodes' default folders and store (~/.crowdcompute/...) lie there."""
    monkeypatch.setenv("HOME", str(home))
    return home


def node_store(home: Path, gateway_url: str) -> SourcedStore:
    """What `provider run` and `validator run` open by default: ~/.crowdcompute/store, then the gateway."""
    settings = StoreSettings(store_dir=home / ".crowdcompute" / "store", kubo_api=None, store_fsync=False)
    return open_node_content(settings, gateway_url=gateway_url)


def upload_bundle(requester: MarketClient, gateway_url: str, folder: Path) -> Cid:
    folder.mkdir(parents=True)
    (folder / "job.toml").write_text(manifest_text())
    (folder / "job.py").write_text("print('trained')\n")
    tar = folder.parent / "bundle.tar"
    with tar.open("wb") as out:
        pack_directory(folder, out)
    with GatewayClient(gateway_url) as gateway:
        cid, _ = gateway.upload_bundle(tar, requester.signer, requester.rpc.chain_id)
    return Cid.parse(cid)


def test_provider_and_validator_find_the_bundle_and_the_result_through_the_gateway(
    requester: MarketClient,
    provider: MarketClient,
    market: MarketClient,
    gateway_app: FastAPI,
    gateway_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = upload_bundle(requester, gateway_url, tmp_path / "job")
    job_id = post_job(requester, bundle)

    home = machine(tmp_path / "provider-machine", monkeypatch)
    folder = node_data_dir(None, Role.PROVIDER, provider.me)
    assert folder == home / ".crowdcompute" / "provider" / provider.me.lower()
    config = NodeConfig(data_dir=folder, poll_interval_s=0.05, gateway_url=gateway_url)
    with node_store(home, gateway_url) as store:
        node = ProviderNode(provider, store, NestedOutputExecutor(OUTPUT), config)
        try:
            assert node.step().claimed == [job_id], (
                "the bundle is only on the gateway: the node must fetch it"
            )
            assert node.wait_idle(60)
        finally:
            node.close()
        assert store.local.has(bundle)  # kept in the provider's own store
    view = requester.job(job_id)
    assert view.status == JobStatus.SUBMITTED
    result = Cid.from_chain(
        *next(
            (e.args["resultDigest"], e.args["resultCodec"])
            for e in view.events
            if e.name == "ResultSubmitted"
        )
    )
    assert result in gateway_app.state.gateway.store.pins(), (
        "the provider published its result to the gateway"
    )

    home = machine(tmp_path / "validator-machine", monkeypatch)
    validator_folder = node_data_dir(None, Role.VALIDATOR, market.me)
    with node_store(home, gateway_url) as store:
        assert not store.local.has(result) and not store.local.has(bundle)
        cached = BundleCache(store, validator_folder / "bundles").get(bundle_cid(*bundle.to_chain()))
        assert cached.manifest.name == "provider-test"
        with tarfile.open(fileobj=io.BytesIO(store.read_bytes(result))) as tar:
            assert tar.extractfile("model.bin").read() == b"final model"  # type: ignore[union-attr]
        assert result in store.local.pins()


def test_a_result_is_published_once_the_gateway_comes_back(
    requester: MarketClient,
    provider: MarketClient,
    gateway_app: FastAPI,
    store: EmbeddedStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"  # nothing listens there yet
    config = NodeConfig(data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=url)
    node = ProviderNode(provider, SourcedStore(store), NestedOutputExecutor(OUTPUT), config)
    try:
        with caplog.at_level(logging.WARNING, logger="provider_node.publish"):
            assert node.step().claimed == [job_id]
            deadline = time.monotonic() + 20
            while "publishing result" not in caplog.text:
                assert time.monotonic() < deadline, "the node never tried to publish"
                time.sleep(0.05)
            assert requester.status_of(job_id) == JobStatus.CLAIMED, "it waits for the gateway first"
            with serve(gateway_app, port):
                assert node.wait_idle(60)
                assert requester.status_of(job_id) == JobStatus.SUBMITTED
                record = node.state.get(job_id)
                assert record is not None and record.result is not None
                assert Cid.parse(record.result["cid"]) in gateway_app.state.gateway.store.pins()
    finally:
        node.close()
    assert "ONLY IN THIS NODE'S STORE" not in caplog.text


def test_a_gateway_that_stays_down_delays_the_submission_only_so_long_and_says_so(
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    dead = f"http://127.0.0.1:{free_port()}"
    config = NodeConfig(
        data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=dead, publish_max_wait_s=1.0
    )
    node = ProviderNode(provider, SourcedStore(store), NestedOutputExecutor(OUTPUT), config)
    try:
        with caplog.at_level(logging.ERROR, logger="provider_node.publish"):
            node.step()
            assert node.wait_idle(30)
    finally:
        node.close()
    assert requester.status_of(job_id) == JobStatus.SUBMITTED
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(loud) == 1 and "IS ONLY IN THIS NODE'S STORE" in loud[0] and dead in loud[0]
