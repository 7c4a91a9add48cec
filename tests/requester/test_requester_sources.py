"""`job download` never needs to know where a result was pinned: the provider publishes its result to the
gateway (signed, as its daemon does), and the requester finds it there, after its own store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chain import DEV_PRIVATE_KEYS, MarketClient
from chain.anvil import AnvilProcess
from crowdcompute.job_cli import job_app
from crowdcompute.requester import download_result, submit_job
from jobs.store import EmbeddedStore
from provider_node.publish import publish_result
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.requester_jobs import provide_result, write_job

Cli = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, market: MarketClient) -> Cli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    return json_cli(
        job_app, options, {"CROWDCOMPUTE_GATEWAY_URL": None, "CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[1]}
    )


def published_job(
    requester: MarketClient, provider: MarketClient, gateway_url: str, tmp_path: Path
) -> tuple[int, dict[str, bytes]]:
    """A job whose bundle went to the gateway and whose result sits in the provider's own store and,
    published, at the gateway: nowhere the requester has been told about."""
    job_id = submit_job(requester, write_job(tmp_path / "job"), gateway_url=gateway_url).job_id
    with EmbeddedStore(tmp_path / "provider-store", fsync=False) as mine:
        cid, files = provide_result(provider, job_id, mine, tmp_path / "work")
        chain_id = provider.rpc.chain_id
        published = publish_result(
            gateway_url, provider.signer, chain_id, mine, job_id, cid, max_wait_s=15, stop=threading.Event()
        )
    assert published
    return job_id, files


def test_download_finds_a_published_result_after_looking_in_its_own_store(
    requester: MarketClient, provider: MarketClient, gateway_url: str, tmp_path: Path
) -> None:
    job_id, files = published_job(requester, provider, gateway_url, tmp_path)
    with EmbeddedStore(tmp_path / "requester-store", fsync=False) as empty:
        downloaded = download_result(
            requester.job(job_id), tmp_path / "result", store=empty, gateway_url=gateway_url
        )
    assert (downloaded.path / "model.pt").read_bytes() == files["model.pt"]


def test_job_download_with_a_store_dir_still_finds_the_result_at_the_gateway(
    cli: Cli, requester: MarketClient, provider: MarketClient, gateway_url: str, tmp_path: Path
) -> None:
    job_id, files = published_job(requester, provider, gateway_url, tmp_path)
    empty = tmp_path / "requester-store"
    got = cli(
        "download", str(job_id), str(tmp_path / "result"), "--store-dir", str(empty), "--gateway", gateway_url
    )
    assert sorted(got["files"]) == sorted(files)
    assert (tmp_path / "result" / "model.pt").read_bytes() == files["model.pt"]
