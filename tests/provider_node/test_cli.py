"""`crowdcompute provider register|stake|unstake|withdraw|status` against the real anvil, with --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    AnvilProcess,
    DevChain,
    MarketClient,
    ResultCommitment,
    Role,
    dev_account,
    tokens,
    write_keystore,
)
from jobs.cid import Cid, Codec
from provider_node.cli import provider_app
from tests.cli_support.json_cli import JsonCli, connection_args, json_cli
from tests.provider_node.provider_jobs import post_job

KEY_INDEX = 7
ADDRESS = DEV_ADDRESSES[KEY_INDEX]
CID = Cid(b"\x11" * 32, Codec.RAW)


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, dev_chain: DevChain) -> JsonCli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    return json_cli(provider_app, options, {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[KEY_INDEX]})


def test_register_takes_the_probe_and_the_overrides(cli: Any, market: MarketClient, tmp_path: Path) -> None:
    out = cli(
        "register",
        "--price",
        "2.5",
        "--gpu-class",
        "0",
        "--cpu-cores",
        "3",
        "--memory-mib",
        "4096",
        "--metadata",
        str(CID),
        "--data-dir",
        str(tmp_path / "node"),
    )
    assert out["address"] == ADDRESS
    assert out["capabilities"]["cpuCores"] == 3
    assert out["capabilities"]["memoryMiB"] == 4096
    assert out["capabilities"]["pricePerHour"] == str(tokens("2.5"))
    assert out["metadataDigest"] == "0x" + "11" * 32
    assert out["probe"]["cpu_count"] >= 1
    caps = market.capabilities_of(ADDRESS)
    assert (caps.cpu_cores, caps.memory_mib, caps.price_per_hour) == (3, 4096, tokens("2.5"))
    assert caps.gpu_count == out["probe"]["gpu_count"]
    assert market.account_of(ADDRESS).role == Role.PROVIDER
    assert out["tx_hash"].startswith("0x") and out["status"] == "success"
    assert out["block"] > 0 and out["gas_used"] > 0


def test_stake_unstake_withdraw_and_status_follow_the_chain(cli: Any, dev_chain: DevChain) -> None:
    cli("register", "--price", "1")
    assert cli("stake", "150")["totalStake"] == str(tokens(150))
    permitted = cli("stake", "50", "--pay", "permit")
    assert permitted["totalStake"] == str(tokens(200)) and permitted["status"] == "success"
    assert permitted["payment"] == {"method": "permit", "amount": str(tokens(50)), "approval": None}
    unbond = cli("unstake", "50")
    assert unbond["unbonding"] == str(tokens(50)) and unbond["releaseAt"] > 0
    status = cli("status")
    assert (status["stake"], status["unbonding"]) == (str(tokens(150)), str(tokens(50)))
    assert status["unbondingReleased"] is False and status["role"] == "Provider"

    locked = cli("withdraw", "--stake-only", ok=False)
    assert locked["error"] == "ContractRevert" and "unbonding stake is released at" in locked["message"]
    dev_chain.increase_time(3601)
    assert cli("withdraw")["unbonded"] == str(tokens(50))
    after = cli("status")
    assert (after["stake"], after["unbonding"]) == (str(tokens(150)), "0")
    nothing = cli("withdraw", ok=False)
    assert "nothing to withdraw" in nothing["message"]


def test_status_counts_jobs_from_events_and_withdraw_pays_earnings(
    cli: Any, market: MarketClient, dev_chain: DevChain
) -> None:
    cli("register", "--price", "1")
    cli("stake", "200")
    requester = market.with_account(dev_account(1))
    me = market.with_account(dev_account(KEY_INDEX))
    paid = post_job(requester, CID)
    me.claim_job(paid)
    me.submit_result(paid, ResultCommitment(b"\x33" * 32, bytes(32), 0))
    dev_chain.mine(6)  # past the 5-block window: mode None with no votes is accepted
    market.finalize(paid)
    running = post_job(requester, CID)
    me.claim_job(running)

    status = cli("status")
    assert status["jobs"] == {"claimed": 2, "submitted": 1, "completed": 1, "expired": 0, "active": [running]}
    assert status["earned"] == status["balance"] == str(tokens(10))
    assert int(status["rewardOwed"]) == 0  # mode None: nothing was verified, so no reward
    assert status["locked"] == str(tokens(5))
    out = cli("withdraw", "--earnings-only")
    assert out["earnings"] == str(tokens(10)) and out["reward"] == status["rewardOwed"]
    assert [set(sent) for sent in out["txs"]] == [{"tx_hash", "block", "gas_used", "status"}]


def test_errors_are_one_decoded_line(cli: Any) -> None:
    cli("register", "--price", "1")
    too_much = cli("unstake", "10", ok=False)
    assert "has 0 CROWD of free stake; 10 CROWD needed" in too_much["message"]
    broke = cli("stake", "999999", ok=False)
    assert "999999 CROWD needed" in broke["message"]


def test_the_key_may_come_from_an_encrypted_keystore(
    anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, dev_chain: DevChain
) -> None:
    keystore = write_keystore(tmp_path / "key.json", dev_account(KEY_INDEX), "s3cret", iterations=2)
    args = ["register", "--price", "1", "--rpc-url", anvil.url, "--deployments-dir", str(deployments_dir)]
    args += ["--devnet-dir", str(tmp_path / "none"), "--keystore", str(keystore), "--json"]
    env = {"CROWDCOMPUTE_PRIVATE_KEY": "", "CROWDCOMPUTE_KEYSTORE_PASSWORD": "s3cret"}
    result = CliRunner().invoke(provider_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["address"] == ADDRESS
    env["CROWDCOMPUTE_KEYSTORE_PASSWORD"] = "wrong"
    refused = CliRunner().invoke(provider_app, args, env=env)
    assert refused.exit_code == 1 and "wrong password" in json.loads(refused.stdout)["message"]
