"""Run the real anvil binary: a free port on 127.0.0.1, wait until it answers, stop it cleanly.

Also the dev-chain-only RPC helpers tests and benches use: snapshots, time travel, mining.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import requests

from chain.errors import DevnetError
from chain.paths import ANVIL_BINARY
from chain.rpc import Rpc

log = logging.getLogger(__name__)

DEV_CHAIN_ID = 31337


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _answers(url: str, timeout: float = 0.5) -> bool:
    try:
        response = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return response.ok and "result" in response.json()
    except (requests.RequestException, ValueError):
        return False


def wait_until_answers(url: str, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    """Poll `url` until a JSON-RPC node answers; fail early if `process` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise DevnetError(f"anvil exited with code {process.returncode} before answering at {url}")
        if _answers(url):
            return
        time.sleep(0.05)
    raise DevnetError(f"anvil did not answer at {url} within {timeout:g} s")


class AnvilProcess:
    """One anvil node as a child process.

    `block_time=None` mines only on transactions (and `evm_mine`), which tests want; the devnet uses
    `block_time=1` with mixed mining so verification windows advance on an idle chain.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        block_time: float | None = None,
        chain_id: int = DEV_CHAIN_ID,
        binary: Path = ANVIL_BINARY,
        log_file: Path | None = None,
        detach: bool = False,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.block_time = block_time
        self.chain_id = chain_id
        self.binary = binary
        self.log_file = log_file
        self.detach = detach
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.home: Path | None = None  # anvil's $HOME: where it spills old states (see `start`)
        self._own_home = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        args = [str(self.binary), "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--chain-id", str(self.chain_id), "--silent"]
        if self.block_time is not None:
            args += ["--block-time", f"{self.block_time:g}", "--mixed-mining"]
        return args + list(self.extra_args)

    def start(self, timeout: float = 20.0) -> AnvilProcess:
        if not self.binary.exists():
            raise DevnetError(f"anvil is not installed at {self.binary}: run `make setup` (npm install)")
        # Anvil spills old states to ~/.foundry/anvil/tmp and leaves them there when it is stopped (gigabytes
        # after a long run). Each anvil gets a home of its own: beside its log for a detached devnet (removed
        # with the devnet's folder), else a temporary folder removed at `stop`.
        if self.detach and self.log_file is not None:
            self.home = self.log_file.parent / "anvil-home"
            self.home.mkdir(parents=True, exist_ok=True)
        else:
            self.home, self._own_home = Path(tempfile.mkdtemp(prefix="anvil-home-")), True
        env = {**os.environ, "HOME": str(self.home)}
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_file.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=self.detach,
                env=env,
            )
        finally:
            if not isinstance(output, int):
                output.close()
        try:
            wait_until_answers(self.url, timeout, self.process)
        except DevnetError:
            self.stop()
            raise
        log.info("anvil %d answers at %s", self.process.pid, self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        stop_pid(self.process.pid, timeout, self.process)
        self.process = None
        if self._own_home and self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    def rpc(self) -> Rpc:
        return Rpc.connect(self.url, expected_chain_id=self.chain_id)

    def __enter__(self) -> AnvilProcess:
        return self.start() if self.process is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def is_anvil_pid(pid: int) -> bool:
    """True if `pid` is alive and runs an anvil binary (so we never signal an unrelated process)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and Path(cmdline[0].decode(errors="replace")).name == "anvil"


def stop_pid(pid: int, timeout: float = 5.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM, wait, then SIGKILL; reaps `process` when we are its parent."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not is_anvil_pid(pid):
            return
        time.sleep(0.05)
    log.warning("anvil %d ignored SIGTERM; killing it", pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if process is not None:
        process.wait(timeout)


class DevChain:
    """Anvil's test-only RPC methods: snapshots, time travel, mining."""

    def __init__(self, rpc: Rpc) -> None:
        if rpc.chain_id != DEV_CHAIN_ID and rpc.chain_id != 1337:
            raise DevnetError(f"chain id {rpc.chain_id} is not a dev chain")
        self.rpc = rpc

    def snapshot(self) -> str:
        return str(self.rpc.request("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc.request("evm_revert", [snapshot_id]):
            raise DevnetError(f"snapshot {snapshot_id} could not be restored")

    def mine(self, blocks: int = 1) -> None:
        self.rpc.request("anvil_mine", [hex(blocks)])

    def mine_until(self, block: int) -> None:
        """Mine until block `block` exists (anvil mines only on transactions), e.g. a seed block."""
        missing = block - self.rpc.block_number()
        if missing > 0:
            self.mine(missing)

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward and mine a block so `block.timestamp` shows it."""
        self.rpc.request("evm_increaseTime", [seconds])
        self.mine()

    def timestamp(self) -> int:
        return int(self.rpc.get_block("latest")["timestamp"], 16)

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc.request("anvil_setBalance", [address, hex(wei)])
