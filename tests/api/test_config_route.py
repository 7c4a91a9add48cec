"""GET /config: where the chain and the market are, as the dApp reads it before anything else."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.main import create_app
from api.settings import Settings
from chain import REPO_ROOT, AnvilProcess, BlockNumber, Deployment, Rpc, save_deployment

DEAD = "0x000000000000000000000000000000000000dEaD"
CONFIG_TS = REPO_ROOT / "frontend" / "src" / "lib" / "config.ts"


def get_config(settings: Settings) -> tuple[int, str, dict[str, Any]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/config")
        return response.status_code, response.headers["content-type"], response.json()


def test_config_names_the_deployed_market_and_token(
    make_settings: Callable[..., Settings], anvil: AnvilProcess, rpc: Rpc, deployment: Deployment
) -> None:
    settings = make_settings(rpc_url=anvil.url)
    save_deployment(deployment, settings.deployments_dir)
    status, content_type, body = get_config(settings)
    assert status == 200
    # The dApp only trusts a JSON answer (the SPA fallback answers unknown paths with HTML).
    assert content_type.startswith("application/json")
    assert body == {
        "chain_id": anvil.chain_id,
        "rpc_url": anvil.url,
        "market": deployment.market,
        "token": deployment.token,
        "deployment_block": deployment.block_number,
        "runtime_images": {},
    }
    # The addresses it hands out are live contracts on the chain it names.
    assert rpc.chain_id == body["chain_id"]
    assert rpc.code(deployment.market) and rpc.code(deployment.token)


def test_config_before_any_deployment_names_the_chain_only(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(chain_id=31337, rpc_url="http://127.0.0.1:8545")
    status, _, body = get_config(settings)
    assert status == 200
    assert body == {
        "chain_id": 31337,
        "rpc_url": "http://127.0.0.1:8545",
        "market": None,
        "token": None,
        "deployment_block": None,
        "runtime_images": {},
    }


def test_config_follows_a_redeploy_without_a_restart(
    make_settings: Callable[..., Settings], deployment: Deployment
) -> None:
    settings = make_settings(chain_id=deployment.chain_id)
    save_deployment(deployment, settings.deployments_dir)
    with TestClient(create_app(settings)) as client:
        assert client.get("/config").json()["market"] == deployment.market
        moved = dataclasses.replace(
            deployment,
            market=to_checksum_address(DEAD),
            block_number=BlockNumber(deployment.block_number + 7),
        )
        save_deployment(moved, settings.deployments_dir)
        body = client.get("/config").json()
        assert body["market"] == DEAD
        assert body["deployment_block"] == deployment.block_number + 7


def test_public_rpc_url_is_what_browsers_are_told(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rpc_url="http://anvil:8545", public_rpc_url="http://127.0.0.1:18545")
    _, _, body = get_config(settings)
    assert body["rpc_url"] == "http://127.0.0.1:18545"


def test_runtime_images_are_advertised_so_the_dapp_can_pin_examples(
    make_settings: Callable[..., Settings],
) -> None:
    images = {"crowdcompute/runtime-cpu:torch2.13": "sha256:" + "ab" * 32}
    _, _, body = get_config(make_settings(runtime_images=images))
    assert body["runtime_images"] == images


def test_a_runtime_image_id_that_is_not_one_is_refused_at_startup(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(ValidationError, match=r"is not an image id: give 'sha256:' and 64"):
        make_settings(runtime_images={"crowdcompute/runtime-cpu:torch2.13": "torch2.13"})


def test_an_unreadable_deployment_file_is_a_503_naming_the_file_and_the_fix(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(chain_id=31337)
    settings.deployments_dir.mkdir(parents=True)
    settings.deployment_file.write_text('{"chainId": 31337, "market": ')
    status, _, body = get_config(settings)
    assert status == 503
    assert body["code"] == "unavailable"
    assert str(settings.deployment_file) in body["detail"] and "devnet up" in body["detail"]


def test_a_deployment_for_another_chain_is_refused(
    make_settings: Callable[..., Settings], deployment: Deployment, tmp_path: Path
) -> None:
    settings = make_settings(chain_id=31337)
    other = dataclasses.replace(deployment, chain_id=5)
    save_deployment(other, tmp_path / "elsewhere")
    settings.deployments_dir.mkdir(parents=True)
    # A file copied to the wrong name: 31337.json holding chain 5's deployment.
    (tmp_path / "elsewhere" / "5.json").rename(settings.deployment_file)
    status, _, body = get_config(settings)
    assert status == 503
    assert "chain 5" in body["detail"] and "CROWDCOMPUTE_GATEWAY_CHAIN_ID" in body["detail"]


def test_config_is_not_shadowed_by_the_dapp_fallback(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    settings.frontend_dist.mkdir(parents=True)
    (settings.frontend_dist / "index.html").write_text("<html>dapp</html>")
    status, content_type, body = get_config(settings)
    assert status == 200 and content_type.startswith("application/json")
    assert body["chain_id"] == settings.chain_id


def test_the_schema_matches_what_the_dapp_parses(make_settings: Callable[..., Settings]) -> None:
    schema = create_app(make_settings()).openapi()
    operation = schema["paths"]["/config"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    model = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    fields = set(model["properties"])
    assert fields == {"chain_id", "rpc_url", "market", "token", "deployment_block", "runtime_images"}
    # config.ts (the dApp) reads the same snake_case names as `raw.<field>`: renaming one side fails here.
    parsed = set(re.findall(r"\braw\.([a-z_]+)", CONFIG_TS.read_text()))
    assert parsed == fields, f"config.ts reads {sorted(parsed)}, the API serves {sorted(fields)}"
