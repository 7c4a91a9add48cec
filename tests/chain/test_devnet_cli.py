"""`crowdcompute devnet up|status|down` against the real anvil binary."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from chain import (
    DEV_ACCOUNT_ROLES,
    DEV_ADDRESSES,
    DEV_FUNDING,
    DEV_PRIVATE_KEYS,
    PROVIDER_ACCOUNTS,
    REQUESTER_ACCOUNT,
    VALIDATOR_ACCOUNTS,
    AnvilProcess,
    DevnetInfo,
    Rpc,
    deploy_market,
)
from chain.anvil import free_port, is_anvil_pid
from crowdcompute.devnet_cli import devnet_app

pytestmark = pytest.mark.chain  # `devnet up` starts its own anvil

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(devnet_app, list(args))
    return result.exit_code, result.output


def test_devnet_up_status_down(tmp_path: Path) -> None:
    state = str(tmp_path / "devnet")
    deployments = tmp_path / "deployments"
    port = str(free_port())
    where = ["--state-dir", state, "--deployments-dir", str(deployments)]
    code, out = invoke("up", "--port", port, *where, "--json")
    assert code == 0, out
    up = json.loads(out)
    assert up["port"] == int(port)
    pid = up["pid"]
    try:
        assert up["started"] is True
        assert is_anvil_pid(pid)
        assert up["rpcUrl"].startswith("http://127.0.0.1:")
        assert json.loads((deployments / "31337.json").read_text())["market"] == up["deployment"]["market"]

        code, out = invoke("up", *where, "--json")
        assert (code, json.loads(out)["started"], json.loads(out)["pid"]) == (0, False, pid)

        code, out = invoke("status", "--state-dir", state, "--json")
        assert code == 0, out
        status = json.loads(out)
        assert status["running"] is True and status["blockNumber"] >= 1
        balances = {b["address"]: int(b["tokens"]) for b in status["balances"]}
        assert balances[DEV_ADDRESSES[5]] == DEV_FUNDING

        roles = {account["index"]: account for account in status["devAccounts"]}
        assert roles[0]["role"] == "deployer and treasury" and roles[1]["role"] == "requester"
        assert [roles[i]["role"] for i in PROVIDER_ACCOUNTS] == ["provider 1", "provider 2"]
        assert [roles[i]["role"] for i in VALIDATOR_ACCOUNTS] == ["validator 1", "validator 2", "validator 3"]
        assert roles[9]["role"] is None and roles[4]["privateKey"] == DEV_PRIVATE_KEYS[4]
        assert roles[4]["address"] == DEV_ADDRESSES[4]

        code, text = invoke("status", "--state-dir", state)
        assert code == 0 and up["deployment"]["market"] in text
        for index, role in DEV_ACCOUNT_ROLES.items():
            line = f"  {index}  {role}"
            assert line in text and f"{DEV_ADDRESSES[index]}  {DEV_PRIVATE_KEYS[index]}" in text

        # Each role's key, alone on its line, for `export CROWDCOMPUTE_PRIVATE_KEY=$(...)`.
        for args, index in (
            (["provider", "2"], PROVIDER_ACCOUNTS[1]),
            (["validator", "3"], VALIDATOR_ACCOUNTS[2]),
        ):
            code, out = invoke("key", *args, "--state-dir", state)
            assert (code, out) == (0, DEV_PRIVATE_KEYS[index] + "\n")
        code, out = invoke("key", "requester", "--state-dir", state)
        assert (code, out) == (0, DEV_PRIVATE_KEYS[REQUESTER_ACCOUNT] + "\n")
        code, out = invoke("key", "validator", "4", "--state-dir", state)
        assert code == 1 and "3 validator account(s)" in out
        code, out = invoke("key", "banker", "--state-dir", state)
        assert code == 1 and "the roles are deployer, requester, provider, validator, cheater" in " ".join(
            out.split()
        )

        # Mixed mining: the idle chain still gets a block every second.
        rpc = Rpc.connect(up["rpcUrl"])
        head = rpc.block_number()
        deadline = time.monotonic() + 3
        while rpc.block_number() == head and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rpc.block_number() > head
    finally:
        code, out = invoke("down", "--state-dir", state, "--json")
    assert (code, json.loads(out)) == (0, {"stopped": True})
    assert not is_anvil_pid(pid)
    assert not os.path.exists(Path(state) / "devnet.json")

    code, out = invoke("status", "--state-dir", state, "--json")
    assert code == 3 and json.loads(out)["running"] is False
    code, out = invoke("down", "--state-dir", state)
    assert code == 0 and "no devnet was running" in out
    code, out = invoke("key", "provider", "--state-dir", state)
    assert code == 1 and "no devnet is running" in out


def test_status_off_a_dev_chain_prints_no_role_and_no_key(tmp_path: Path) -> None:
    """A devnet record pointing at a chain that is not a dev chain (id 8453): balances, but no keys."""
    with AnvilProcess(chain_id=8453) as node:
        rpc = Rpc.connect(node.url, expected_chain_id=8453)
        deployer = Account.create()
        rpc.request("anvil_setBalance", [deployer.address, hex(10**20)])
        deployment = deploy_market(rpc, deployer, save_dir=None)
        assert node.pid is not None
        info = DevnetInfo(node.pid, node.port, node.url, 8453, time.time(), str(tmp_path / "log"), deployment)
        state = tmp_path / "devnet"
        state.mkdir()
        (state / "devnet.json").write_text(json.dumps(info.to_json()))

        code, out = invoke("status", "--state-dir", str(state), "--json")
        assert code == 0, out
        status = json.loads(out)
        assert status["running"] is True and "devAccounts" not in status
        code, text = invoke("status", "--state-dir", str(state))
        assert code == 0 and deployment.market in text
        assert "role" not in text and not any(key[2:] in text for key in DEV_PRIVATE_KEYS)
        code, out = invoke("key", "provider", "--state-dir", str(state))
        assert code == 1 and "not a dev chain" in out and not any(key[2:] in out for key in DEV_PRIVATE_KEYS)
