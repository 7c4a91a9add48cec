"""The whole marketplace on one machine, each role its own process with its own key: `DemoStack`.

    with DemoStack(Path("build/demo")) as stack:      # devnet, gateway, 2 providers, 3 validators
        requester = stack.market(1)
        job_dir = stack.pinned_example("digits_mlp", stack.root / "jobs" / "d", interval=100, segments=40)

`__enter__` runs the real commands, in order: `crowdcompute devnet up` (anvil + deployment + funded dev
accounts), `crowdcompute gateway serve` (the API and the built dApp at /), then registers and stakes each
node's account (the market calls `crowdcompute provider register`/`stake` and `crowdcompute validator
register` make, sent from here to save seven interpreter starts), and starts `crowdcompute provider run`
and `crowdcompute validator run`. Every process gets its key through
CROWDCOMPUTE_PRIVATE_KEY, a free port on 127.0.0.1 where it listens, a data folder under `root` and a
log file under `root/logs/`. All of them share one embedded content store (`root/store`), as processes
on one machine share one IPFS node. `__exit__` (also on failure or Ctrl-C) stops every process, the
anvil node and any job container the nodes left, so nothing keeps running.

Dev accounts (anvil's public keys and their roles: chain/dev_accounts.py, DEV_ACCOUNT_ROLES): 0 deploys and
holds the treasury, 1 is the requester, 2-3 the providers, 4-6 the validators, 7 the cheating provider; 8
and 9 are left free.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from chain import (
    CHEATER_ACCOUNT,
    PROVIDER_ACCOUNTS,
    REQUESTER_ACCOUNT,
    VALIDATOR_ACCOUNTS,
    Capabilities,
    ChainError,
    Deployment,
    MarketClient,
    RevertDecoder,
    Rpc,
    compile_contracts,
    dev_account,
    dev_address,
    dev_private_key,
    devnet_down,
    read_info,
    tokens,
)
from chain.anvil import free_port
from crowdcompute.demo.errors import ProcessDied, StackError
from crowdcompute.demo.example_jobs import RUNTIME_IMAGE, local_image_id, pin_example
from crowdcompute.demo.processes import ChildProcess, Supervisor

__all__ = [
    "CHEATER_ACCOUNT",
    "PROVIDER_ACCOUNTS",
    "REQUESTER_ACCOUNT",
    "VALIDATOR_ACCOUNTS",
    "DemoStack",
    "StackError",
    "crowdcompute_argv",
]

PROVIDER_STAKE = 200  # tokens
PROVIDER_PRICE = 1  # tokens per hour of runTimeout; any job the demo posts pays more
POLL_INTERVAL = "0.25"  # seconds between the daemons' idle polls: the demo is about latency
# Folders of one run under the root; wiped when a stack starts (a fresh chain makes them stale).
_RUN_FOLDERS = ("devnet", "deployments", "store", "gateway", "nodes", "logs", "jobs", "results")
_READY_TIMEOUT_S = 90.0
MIB = 1024 * 1024


def crowdcompute_argv() -> list[str]:
    """How to run the `crowdcompute` command with this interpreter's installation."""
    script = Path(sys.executable).with_name("crowdcompute")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from crowdcompute.cli import main; sys.argv[0] = 'crowdcompute'; main()",
    ]


@dataclass(frozen=True)
class Node:
    """A provider or validator process of the stack."""

    role: str  # "provider", "validator" or "cheater"
    index: int  # 1-based within its role
    account: int  # dev account index
    data_dir: Path
    process: ChildProcess | None = None

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"

    @property
    def address(self) -> str:
        return dev_address(self.account)


class DemoStack:
    """Devnet, gateway, providers and validators as separate processes (see the module docstring)."""

    runs_containers = True
    """Whether the nodes start job containers (to remove what they left); no-op nodes (bench/load.py) not."""

    def __init__(
        self,
        root: Path,
        *,
        providers: int = 2,
        validators: int = 3,
        log: Callable[[str], None] | None = None,
        cheaters: int = 0,
        cheat_mode: str = "forge",
        provider_accounts: tuple[int, ...] = PROVIDER_ACCOUNTS,
        validator_accounts: tuple[int, ...] = VALIDATOR_ACCOUNTS,
    ) -> None:
        # Larger stacks (bench/chaos.py) name other dev accounts for their nodes; the demo keeps its roles.
        if not 0 <= providers <= len(provider_accounts):
            raise ValueError(
                f"providers must be 0..{len(provider_accounts)} (dev accounts {provider_accounts}), "
                f"got {providers}"
            )
        if not 0 <= validators <= len(validator_accounts):
            raise ValueError(
                f"validators must be 0..{len(validator_accounts)} (dev accounts {validator_accounts}), "
                f"got {validators}"
            )
        if cheaters not in (0, 1):
            raise ValueError(f"cheaters must be 0 or 1 (dev account {CHEATER_ACCOUNT}), got {cheaters}")
        self.cheat_mode = cheat_mode  # the cheater's trick (`crowdcompute.demo.cheater --mode`)
        self.root = Path(root).resolve()
        self._log = log or (lambda _message: None)
        self.supervisor = Supervisor(self.root, on_event=self._log)
        nodes = self.root / "nodes"
        self.providers = [
            Node("provider", i + 1, account, nodes / f"provider-{i + 1}")
            for i, account in enumerate(provider_accounts[:providers])
        ]
        self.providers += [Node("cheater", 1, CHEATER_ACCOUNT, nodes / "cheater-1")] if cheaters else []
        self.validators = [
            Node("validator", i + 1, account, nodes / f"validator-{i + 1}")
            for i, account in enumerate(validator_accounts[:validators])
        ]
        self.rpc_url = ""
        self.gateway_url = ""
        self.chain_id = 0
        self.runtime_image_id = ""
        self._deployment: Deployment | None = None
        self._rpc: Rpc | None = None
        self.started_s: float | None = None

    # -- what users of a started stack read --------------------------------------------------------

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            raise StackError("the stack is not started")
        return self._deployment

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    @property
    def devnet_dir(self) -> Path:
        return self.root / "devnet"

    @property
    def deployments_dir(self) -> Path:
        return self.root / "deployments"

    @property
    def nodes(self) -> list[Node]:
        return [*self.providers, *self.validators]

    def rpc(self) -> Rpc:
        if self._rpc is None:
            artifacts = compile_contracts()
            decoder = RevertDecoder(artifact.abi for artifact in artifacts)
            self._rpc = Rpc.connect(self.rpc_url, expected_chain_id=self.chain_id, decoder=decoder)
        return self._rpc

    def market(self, account_index: int) -> MarketClient:
        """A market client acting as dev account `account_index` (0..9)."""
        return MarketClient(self.rpc(), self.deployment, account=dev_account(account_index))

    def pinned_example(self, name: str, dest: Path, *, interval: int, segments: int) -> Path:
        """A copy of examples/<name> pinned to the local runtime image, with a shortened schedule."""
        return pin_example(name, dest, image_id=self.runtime_image_id, interval=interval, segments=segments)

    def check(self) -> None:
        """Raise `StackError` if a process of the stack has exited."""
        try:
            self.supervisor.check()
        except ProcessDied as exc:
            raise StackError(str(exc)) from None

    # -- starting ------------------------------------------------------------------------------------

    def __enter__(self) -> DemoStack:
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_s = time.monotonic() - began
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start(self) -> None:
        self.runtime_image_id = local_image_id(RUNTIME_IMAGE)
        self._prepare_root()
        self._devnet_up()
        gateway = self._start_gateway()
        self._register_nodes()
        self._start_nodes()
        self._wait_gateway_ready(gateway)
        for node in self.nodes:
            assert node.process is not None
            node.process.wait_for_log(
                f"{'validator' if node.role == 'validator' else 'provider'} node 0x", _READY_TIMEOUT_S
            )
        self._log(
            f"{len(self.providers)} provider(s) and {len(self.validators)} validator(s) watch the market"
        )

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            leftovers = self.supervisor.clean_up_previous()
        except RuntimeError as exc:
            raise StackError(str(exc)) from None
        with contextlib.suppress(Exception):
            devnet_down(self.devnet_dir)  # an anvil the previous run recorded and nobody stopped
        removed = remove_job_containers(self.root) if self.runs_containers else []
        if leftovers or removed:
            self._log(f"stopped what a previous demo left running: {', '.join(leftovers + removed)}")
        for folder in _RUN_FOLDERS:
            shutil.rmtree(self.root / folder, ignore_errors=True)

    def _env(self, **extra: str) -> dict[str, str]:
        """The parent's environment without any CROWDCOMPUTE_* setting (the demo is self-contained)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDCOMPUTE_")}
        env |= {"PYTHONUNBUFFERED": "1", "CROWDCOMPUTE_STORE_DIR": str(self.store_dir)}
        env |= {"CROWDCOMPUTE_STORE_FSYNC": "false"}  # a throwaway store; fsync costs seconds on a busy disk
        if self.rpc_url:
            env |= {
                "CROWDCOMPUTE_RPC_URL": self.rpc_url,
                "CROWDCOMPUTE_DEPLOYMENTS_DIR": str(self.deployments_dir),
            }
        return env | extra

    def _role_env(self, node: Node) -> dict[str, str]:
        return self._env(CROWDCOMPUTE_PRIVATE_KEY=dev_private_key(node.account))

    def _devnet_up(self) -> None:
        port = free_port()
        argv = [*crowdcompute_argv(), "devnet", "up", "--port", str(port), "--json"]
        argv += ["--state-dir", str(self.devnet_dir), "--deployments-dir", str(self.deployments_dir)]
        try:
            self.supervisor.run("devnet-up", argv, self._env(), timeout=120)
        except ProcessDied as exc:
            raise StackError(f"`crowdcompute devnet up` failed: {exc}") from None
        info = read_info(self.devnet_dir)
        if info is None:
            raise StackError(f"`crowdcompute devnet up` recorded nothing in {self.devnet_dir}")
        self.supervisor.adopt("anvil", info.pid)
        self.rpc_url, self.chain_id, self._deployment = info.rpc_url, info.chain_id, info.deployment
        self._log(f"devnet: anvil at {self.rpc_url} (chain {self.chain_id}), market {info.deployment.market}")

    def _start_gateway(self) -> ChildProcess:
        port = free_port()
        self.gateway_url = f"http://127.0.0.1:{port}"
        settings = self._gateway_settings()
        env = self._env(**{f"CROWDCOMPUTE_GATEWAY_{k}": v for k, v in settings.items()})
        argv = [*crowdcompute_argv(), "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
        return self.supervisor.start("gateway", argv, env)

    def _gateway_settings(self) -> dict[str, str]:
        """The gateway's settings, as CROWDCOMPUTE_GATEWAY_<NAME> without the prefix."""
        return {
            "ENVIRONMENT": "development",
            "RPC_URL": self.rpc_url,
            "CHAIN_ID": str(self.chain_id),
            "DEPLOYMENTS_DIR": str(self.deployments_dir),
            "DATA_DIR": str(self.root / "gateway"),
            "STORE_DIR": str(self.store_dir),
            "STORE_FSYNC": "false",
            "INDEXER_POLL_INTERVAL_S": "0.25",
            "SSE_POLL_S": "0.25",
            # Every node of the stack and the browser reach the gateway from 127.0.0.1: one client to it.
            "EDGE_RATE_LIMIT_PER_MINUTE": "60000",
            "EDGE_RATE_LIMIT_BURST": "10000",
            # GET /config advertises it, so the dApp pins example jobs to the image these nodes run.
            "RUNTIME_IMAGES": json.dumps({RUNTIME_IMAGE: self.runtime_image_id}),
        }

    def _role_argv(self, node: Node, *args: str) -> list[str]:
        command = "provider" if node.role == "cheater" else node.role
        return [*crowdcompute_argv(), command, *args, "--devnet-dir", str(self.devnet_dir)]

    def _register_nodes(self) -> None:
        """Register and stake every node's account, as `crowdcompute provider register` + `stake` and
        `crowdcompute validator register` do, but from this process: seven command starts would cost
        more than the whole job on a small machine."""
        for node in self.nodes:
            market = self.market(node.account)
            try:
                if node.role == "validator":
                    market.stake(market.config().min_validator_stake)
                    market.register_validator()
                else:
                    market.register_provider(_probed_capabilities(node.data_dir))
                    market.stake(tokens(PROVIDER_STAKE))
            except ChainError as exc:
                raise StackError(f"registering {node.name} ({node.address}) failed: {exc}") from None
        self._log(
            "registered and staked: " + ", ".join(f"{node.name} {node.address[:10]}" for node in self.nodes)
        )

    def _start_nodes(self) -> None:
        started: list[Node] = []
        for node in self.nodes:
            env = self._role_env(node) | {"CROWDCOMPUTE_GATEWAY_URL": self.gateway_url}
            common = ["--data-dir", str(node.data_dir), "--store-dir", str(self.store_dir)]
            common += ["--poll-interval", POLL_INTERVAL]
            if node.role == "cheater":
                argv = [sys.executable, "-m", "crowdcompute.demo.cheater", "--data-dir", str(node.data_dir)]
                argv += ["--store-dir", str(self.store_dir), "--poll-interval", POLL_INTERVAL]
                argv += ["--gateway", self.gateway_url, "--mode", self.cheat_mode]
            elif node.role == "provider":
                argv = self._role_argv(node, "run", *common, "--gateway", self.gateway_url)
            else:
                argv = self._role_argv(node, "run", *common)
            process = self.supervisor.start(node.name, argv, env)
            started.append(Node(node.role, node.index, node.account, node.data_dir, process))
        self.providers = [n for n in started if n.role != "validator"]
        self.validators = [n for n in started if n.role == "validator"]

    def _wait_gateway_ready(self, gateway: ChildProcess) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        last: Any = None
        while time.monotonic() < deadline:
            if not gateway.running():
                raise StackError(str(gateway.died()))
            try:
                response = requests.get(f"{self.gateway_url}/readyz", timeout=2)
                if response.status_code == 200:
                    self._log(f"gateway: {self.gateway_url} (the dApp at /, the API beside it)")
                    return
                last = response.json()
            except (requests.RequestException, ValueError) as exc:
                last = str(exc)
            time.sleep(0.2)
        raise StackError(
            f"the gateway at {self.gateway_url} was not ready within {_READY_TIMEOUT_S:g} s: {last}"
        )

    # -- stopping ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process and container of the stack (safe to call more than once).

        A second Ctrl-C while this runs is ignored: stopping takes seconds, and cutting it short would
        leave processes behind.
        """
        with _signals_deferred():
            self.supervisor.stop_all()
            with contextlib.suppress(Exception):
                devnet_down(self.devnet_dir)
            removed = remove_job_containers(self.root) if self.runs_containers else []
        if removed:
            self._log(f"removed job containers the nodes left: {', '.join(removed)}")
        self._rpc = None

    def summary(self) -> dict[str, Any]:
        """Addresses, URLs and folders of the stack, for people and for scripts."""
        return {
            "rpc_url": self.rpc_url,
            "gateway_url": self.gateway_url,
            "chain_id": self.chain_id,
            "market": self._deployment.market if self._deployment else None,
            "runtime_image_id": self.runtime_image_id,
            "nodes": [
                {"name": n.name, "address": n.address, "data_dir": str(n.data_dir)} for n in self.nodes
            ],
            "logs": str(self.supervisor.logs),
        }


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM inside the block (main thread only: elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _probed_capabilities(data_dir: Path) -> Capabilities:
    """This machine's CPUs, memory and GPUs (as `crowdcompute provider register` probes them)."""
    from provider_node.hardware import probe

    data_dir.mkdir(parents=True, exist_ok=True)
    profile = probe(data_dir)
    classes = [gpu.compute_capability[0] for gpu in profile.gpus if gpu.compute_capability]
    return Capabilities(
        gpu_count=profile.gpu_count,
        gpu_memory_mib=profile.gpu_memory_bytes // MIB,
        gpu_class=min(classes, default=0),
        cpu_cores=max(1, math.floor(profile.cpu_cores)),
        memory_mib=profile.memory_bytes // MIB,
        price_per_hour=tokens(PROVIDER_PRICE),
    )


def remove_job_containers(root: Path) -> list[str]:
    """Remove job containers whose folders lie under `root` (ours, whatever node label they carry)."""
    try:
        import docker
    except ImportError:
        return []
    removed = []
    try:
        client = docker.from_env(timeout=30)
    except Exception:  # no engine: then there is no container either
        return []
    try:
        for container in client.containers.list(all=True, filters={"label": "crowdcompute.node"}):
            mounts = container.attrs.get("Mounts") or []
            if any(str(m.get("Source", "")).startswith(f"{root}{os.sep}") for m in mounts):
                with contextlib.suppress(Exception):
                    container.remove(force=True)
                    removed.append(f"container {container.name}")
    finally:
        client.close()
    return removed
