"""The thin scripts under scripts/: deploy (with its refusals), faucet, show_job, show_provider."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from eth_account import Account
from typer.testing import CliRunner

from chain import (
    DEV_PRIVATE_KEYS,
    PRIVATE_KEY_ENV,
    REPO_ROOT,
    Deployment,
    Rpc,
    dev_account,
    save_deployment,
    tokens,
    write_keystore,
)
from chain.anvil import AnvilProcess, free_port
from tests.chain.market_cast import BASE_SPEC, Cast

SCRIPTS = REPO_ROOT / "scripts"
runner = CliRunner()


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"script_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(load_script(name).app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def deployments_dir(tmp_path: Path, deployment: Deployment) -> Path:
    save_deployment(deployment, tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def other_chain() -> Iterator[str]:
    with AnvilProcess(chain_id=8453) as node:
        yield node.url


def test_deploy_help_runs_standalone() -> None:
    env = {k: v for k, v in os.environ.items() if k != PRIVATE_KEY_ENV}
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "deploy.py"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "CROWDCOMPUTE_PRIVATE_KEY" in result.stdout and "--chain-id" in result.stdout


def test_deploy_with_a_keystore_records_the_deployment(
    anvil: AnvilProcess, rpc: Rpc, dev_chain: object, tmp_path: Path
) -> None:
    deployer = Account.create()
    rpc.request("anvil_setBalance", [deployer.address, hex(10**19)])
    keystore = write_keystore(tmp_path / "deployer.json", deployer, "pw", iterations=2**10)
    env = {"CROWDCOMPUTE_KEYSTORE_PASSWORD": "pw", PRIVATE_KEY_ENV: ""}
    code, out = run(
        "deploy",
        "--rpc-url",
        anvil.url,
        "--chain-id",
        "31337",
        "--keystore",
        str(keystore),
        "--deployments-dir",
        str(tmp_path),
        "--reward-bps",
        "150",
        "--timelock-delay",
        "120",
        "--guardian",
        dev_account(5).address,
        "--json",
        env=env,
    )
    assert code == 0, out
    deployed = json.loads(out)
    recorded = json.loads((tmp_path / "31337.json").read_text())
    assert recorded["market"] == deployed["market"] and recorded["deployer"] == deployer.address
    assert recorded["config"]["rewardBps"] == 150
    governance = recorded["governance"]
    assert governance["minDelay"] == 120 and governance["guardian"] == dev_account(5).address
    assert governance["proposers"] == governance["executors"] == [deployer.address]
    assert rpc.code(governance["timelock"]) != b""
    assert rpc.code(deployed["market"]) != b""


def test_deploy_refuses_a_dev_key_on_another_chain(other_chain: str, tmp_path: Path) -> None:
    code, out = run(
        "deploy",
        "--rpc-url",
        other_chain,
        "--chain-id",
        "8453",
        "--deployments-dir",
        str(tmp_path),
        env={PRIVATE_KEY_ENV: DEV_PRIVATE_KEYS[0]},
    )
    assert code == 1 and "DevKeyOnLiveChain" in out and "8453" in out
    assert not list(tmp_path.iterdir())
    assert Rpc.connect(other_chain).nonce(Account.from_key(DEV_PRIVATE_KEYS[0]).address) == 0


def test_deploy_names_each_failed_check(anvil: AnvilProcess, tmp_path: Path) -> None:
    key = {PRIVATE_KEY_ENV: Account.create().key.hex()}
    code, out = run(
        "deploy", "--rpc-url", anvil.url, "--chain-id", "1", "--deployments-dir", str(tmp_path), env=key
    )
    assert code == 1 and "ChainIdMismatch" in out and "31337" in out
    dead = f"http://127.0.0.1:{free_port()}"
    code, out = run("deploy", "--rpc-url", dead, "--chain-id", "31337", env=key)
    assert code == 1 and "RpcUnreachable" in out and dead in out
    code, out = run("deploy", "--rpc-url", anvil.url, "--chain-id", "31337", env={PRIVATE_KEY_ENV: ""})
    assert code == 1 and "MissingKey" in out


def test_faucet_sends_tokens_on_the_dev_chain(cast: Cast, anvil: AnvilProcess, deployments_dir: Path) -> None:
    receiver = Account.create().address
    code, out = run(
        "faucet",
        receiver,
        "--amount",
        "25",
        "--eth",
        "1",
        "--rpc-url",
        anvil.url,
        "--deployments-dir",
        str(deployments_dir),
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["balance"] == str(tokens(25))
    assert cast.deployer.token.balance_of(receiver) == tokens(25)
    assert cast.deployer.rpc.balance(receiver) == 10**18


def test_faucet_refuses_other_chains(other_chain: str) -> None:
    code, out = run("faucet", Account.create().address, "--rpc-url", other_chain)
    assert code == 2 and "not a dev chain" in out


def test_show_job_and_provider(cast: Cast, anvil: AnvilProcess, deployments_dir: Path) -> None:
    posted = cast.posted_and_submitted()
    common = ["--rpc-url", anvil.url, "--deployments-dir", str(deployments_dir)]
    code, out = run("show_job", str(posted.job_id), *common, "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["status"] == "Submitted"
    assert shown["job"]["spec"]["budget"] == BASE_SPEC.budget
    assert [e["name"] for e in shown["events"]] == ["JobPosted", "JobClaimed", "ResultSubmitted"]
    # posted_and_submitted mined the seed block (the one after the submission): the seats are drawn
    assert shown["committee"] == cast.requester.committee_of(posted.job_id)
    assert len(json.loads(out)["committee"]) == 3
    code, out = run("show_job", str(posted.job_id), *common)
    assert code == 0 and "job 1: Submitted" in out and "seat 0 0x" in out

    code, out = run("show_provider", cast.provider.me, *common, "--json")
    assert code == 0, out
    provider = json.loads(out)
    assert provider["account"]["role"] == "Provider"
    assert provider["account"]["locked"] == BASE_SPEC.collateral
    assert provider["capabilities"]["gpu_memory_mib"] == 8192

    code, out = run("show_job", "99", *common)
    assert code == 1 and "JobNotFound" in out
