"""Upload admission against a real anvil: the gateway reads the uploader's balance and stake on chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from chain import Deployment, MarketClient, dev_account, save_deployment, tokens
from chain.anvil import AnvilProcess
from gateway_protocol import body_hash, request_headers
from tests.api.bundle_archives import JOB_FILES, tar_gz
from tests.api.gateway_keys import TEST_GATEWAY

ARCHIVE = tar_gz(JOB_FILES)


def upload(client: TestClient, key: str):  # type: ignore[no-untyped-def]
    headers = request_headers(
        key, 31337, "POST", "/bundles", gateway=TEST_GATEWAY, body_hash=body_hash(ARCHIVE)
    )
    return client.post("/bundles", files={"file": ("job.tar.gz", ARCHIVE)}, headers=headers)


def test_a_funded_account_may_upload_and_a_fresh_one_is_refused(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    anvil: AnvilProcess,
    deployment: Deployment,
    market: MarketClient,
) -> None:
    funded = dev_account(1)
    assert market.token.balance_of(funded.address) >= tokens(1)
    save_deployment(deployment, tmp_path / "deployments")
    settings = make_settings(rpc_url=anvil.url, upload_tmp_dir=tmp_path / "uploads")
    with TestClient(create_app(settings)) as client:
        accepted = upload(client, funded.key.hex())
        assert accepted.status_code == 201, accepted.text
        refused = upload(client, "0x" + "5a" * 32)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "stake_required" and "has 0 tokens" in refused.json()["detail"]
