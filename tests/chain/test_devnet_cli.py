"""`crowdcompute devnet up|status|down` against the real anvil binary."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chain import DEV_ADDRESSES, DEV_FUNDING, Rpc
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

        code, text = invoke("status", "--state-dir", state)
        assert code == 0 and up["deployment"]["market"] in text

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
