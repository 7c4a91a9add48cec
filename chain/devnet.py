"""The local development chain behind `crowdcompute devnet up|down|status`.

`up` starts the real anvil binary detached (127.0.0.1, mixed mining with 1 s blocks so verification windows
advance on an idle chain while transactions still mine at once), deploys the market with dev account 0,
funds the other dev accounts with test tokens, and records everything in `.devnet/devnet.json`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.anvil import DEV_CHAIN_ID, AnvilProcess, is_anvil_pid, port_is_free, stop_pid
from chain.clients.market import MarketClient
from chain.deploy import DEV_CONFIG, deploy_market
from chain.dev_accounts import DEV_ADDRESSES, dev_account
from chain.errors import ChainError, DevnetError
from chain.paths import DEPLOYMENTS_DIR, DEVNET_DIR
from chain.rpc import Rpc
from chain.types import Deployment, Wei, tokens

log = logging.getLogger(__name__)

DEV_FUNDING = tokens(10_000)
DEFAULT_PORT = 8545


@dataclass(frozen=True)
class DevnetInfo:
    """What `devnet up` recorded."""

    pid: int
    port: int
    rpc_url: str
    chain_id: int
    started_at: float
    log_file: str
    deployment: Deployment

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "port": self.port,
            "rpcUrl": self.rpc_url,
            "chainId": self.chain_id,
            "startedAt": self.started_at,
            "logFile": self.log_file,
            "deployment": self.deployment.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DevnetInfo:
        return cls(
            pid=int(data["pid"]),
            port=int(data["port"]),
            rpc_url=data["rpcUrl"],
            chain_id=int(data["chainId"]),
            started_at=float(data["startedAt"]),
            log_file=data["logFile"],
            deployment=Deployment.from_json(data["deployment"]),
        )


@dataclass(frozen=True)
class AccountBalance:
    address: str
    eth: Wei
    tokens: Wei


@dataclass(frozen=True)
class DevnetStatus:
    """A running devnet as seen now, or a stopped one (`running=False`, `info` may be None)."""

    running: bool
    info: DevnetInfo | None
    block_number: int | None = None
    balances: tuple[AccountBalance, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "devnet": self.info.to_json() if self.info else None,
            "blockNumber": self.block_number,
            "balances": [
                {"address": b.address, "eth": str(b.eth), "tokens": str(b.tokens)} for b in self.balances
            ],
        }


def _info_path(state_dir: Path) -> Path:
    return state_dir / "devnet.json"


def read_info(state_dir: Path = DEVNET_DIR) -> DevnetInfo | None:
    try:
        return DevnetInfo.from_json(json.loads(_info_path(state_dir).read_text()))
    except FileNotFoundError:
        return None


def _running(info: DevnetInfo | None) -> bool:
    return info is not None and is_anvil_pid(info.pid)


def devnet_up(
    *,
    port: int | None = None,
    block_time: float = 1.0,
    state_dir: Path = DEVNET_DIR,
    deployments_dir: Path = DEPLOYMENTS_DIR,
    fund: Wei = DEV_FUNDING,
) -> tuple[DevnetInfo, bool]:
    """Start (or find) the devnet; returns its info and whether this call started it."""
    existing = read_info(state_dir)
    if _running(existing):
        assert existing is not None
        return existing, False
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir / "anvil.log"
    # The usual local RPC port when it is free, so scripts' defaults reach the devnet.
    if port is None and port_is_free(DEFAULT_PORT):
        port = DEFAULT_PORT
    node = AnvilProcess(port=port, block_time=block_time, log_file=log_file, detach=True).start()
    assert node.pid is not None
    try:
        rpc = Rpc.connect(node.url, expected_chain_id=DEV_CHAIN_ID)
        deployer = dev_account(0)
        deployment = deploy_market(rpc, deployer, config=DEV_CONFIG, save_dir=deployments_dir)
        if fund:
            _fund_dev_accounts(rpc, deployment, fund)
    except (ChainError, OSError):
        node.stop()
        raise
    info = DevnetInfo(
        pid=node.pid,
        port=node.port,
        rpc_url=node.url,
        chain_id=DEV_CHAIN_ID,
        started_at=time.time(),
        log_file=str(log_file),
        deployment=deployment,
    )
    _info_path(state_dir).write_text(json.dumps(info.to_json(), indent=2) + "\n")
    # The node outlives this process: stop tracking it so interpreter shutdown neither waits nor warns.
    node.process = None
    return info, True


def _fund_dev_accounts(rpc: Rpc, deployment: Deployment, amount: Wei) -> None:
    market = MarketClient(rpc, deployment, account=dev_account(0))
    treasury = market.token
    for address in DEV_ADDRESSES[1:]:
        treasury.transfer(address, amount)


def devnet_down(state_dir: Path = DEVNET_DIR) -> bool:
    """Stop the recorded anvil process; returns whether one was running."""
    info = read_info(state_dir)
    was_running = _running(info)
    if info is not None and was_running:
        stop_pid(info.pid)
        _reap(info.pid)
    _info_path(state_dir).unlink(missing_ok=True)
    return was_running


def _reap(pid: int) -> None:
    """Collect the exit status when this process started the node (tests do), so no zombie stays."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def devnet_status(state_dir: Path = DEVNET_DIR) -> DevnetStatus:
    info = read_info(state_dir)
    if info is None or not _running(info):
        return DevnetStatus(False, info)
    try:
        rpc = Rpc.connect(info.rpc_url, expected_chain_id=info.chain_id, timeout=3)
    except ChainError as exc:
        raise DevnetError(f"anvil {info.pid} runs but does not answer at {info.rpc_url}: {exc}") from exc
    market = MarketClient(rpc, info.deployment)
    balances = tuple(
        AccountBalance(address, Wei(rpc.balance(address)), market.token.balance_of(address))
        for address in DEV_ADDRESSES
    )
    return DevnetStatus(True, info, rpc.block_number(), balances)
