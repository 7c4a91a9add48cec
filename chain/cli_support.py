"""What every role's commands share (`crowdcompute provider|validator`): options, chain, output, errors.

Defaults point at the local devnet: the RPC URL recorded in `.devnet/devnet.json` (else
http://127.0.0.1:8545) and the deployment `deployments/<chainId>.json` (else the one the devnet recorded).
The key comes from `CROWDCOMPUTE_PRIVATE_KEY` or an encrypted keystore (`--keystore`, password from
`CROWDCOMPUTE_KEYSTORE_PASSWORD` or a prompt); anvil's dev keys are refused off a dev chain.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from chain.clients.market import MarketClient
from chain.deployments import load_deployment
from chain.devnet import read_info
from chain.errors import ChainError, ContractRevert, DeploymentNotFound
from chain.keys import load_signer
from chain.paths import DEPLOYMENTS_DIR, DEVNET_DIR
from chain.rpc import Rpc
from chain.types import TOKEN_DECIMALS, Deployment, Wei

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
_UINT96 = 2**96 - 1

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
RpcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        envvar="CROWDCOMPUTE_RPC_URL",
        help="JSON-RPC URL (default: the devnet's, else http://127.0.0.1:8545).",
        show_default=False,
    ),
]
DeploymentsOption = Annotated[
    Path,
    typer.Option(
        "--deployments-dir",
        envvar="CROWDCOMPUTE_DEPLOYMENTS_DIR",
        help="Folder of deployment records (<chainId>.json).",
    ),
]
DevnetOption = Annotated[Path, typer.Option("--devnet-dir", help="Where `devnet up` records the devnet.")]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        envvar="CROWDCOMPUTE_KEYSTORE",
        help="Encrypted keystore file (else CROWDCOMPUTE_PRIVATE_KEY).",
        show_default=False,
    ),
]
DEFAULT_DEPLOYMENTS = DEPLOYMENTS_DIR
DEFAULT_DEVNET = DEVNET_DIR


class Output:
    """Text for people, or one JSON document for scripts; errors as one line and exit status 1."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False)
        self.errors = Console(stderr=True, highlight=False)

    def emit(self, payload: dict[str, Any], text: str) -> None:
        if self.as_json:
            typer.echo(json.dumps(payload, indent=2, sort_keys=True))
        else:
            self.console.print(text, markup=False)

    def fail(self, exc: BaseException) -> NoReturn:
        message = exc.message if isinstance(exc, ContractRevert) else str(exc)
        message = " ".join(message.split())  # one line, whatever the source
        if self.as_json:
            typer.echo(json.dumps({"error": type(exc).__name__, "message": message}))
        else:
            self.errors.print(f"error: {message}", markup=False)
        raise typer.Exit(1)

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[None]:
        """A spinner on stderr while a long step runs (not with --json, not without a terminal)."""
        if self.as_json or not sys.stderr.isatty():
            yield
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.errors, transient=True) as bar:
            bar.add_task(description, total=None)
            yield


def parse_tokens(text: str, *, what: str = "amount", allow_zero: bool = False) -> Wei:
    """Whole tokens (decimals allowed, e.g. `12.5`) to base units; `ValueError` names what is wrong."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number of tokens") from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'>= 0' if allow_zero else '> 0'} tokens, got {text}")
    units = value.scaleb(TOKEN_DECIMALS)
    if units != units.to_integral_value():
        raise ValueError(f"{what} has more than {TOKEN_DECIMALS} decimals")
    if units > _UINT96:
        raise ValueError(f"{what} {text} is more than any stake or price can be (a uint96)")
    return Wei(int(units))


def when(timestamp: int) -> str:
    """A chain timestamp for people: `2026-11-23 10:00:00 UTC`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def resolve_rpc_url(rpc_url: str | None, devnet_dir: Path) -> str:
    if rpc_url:
        return rpc_url
    info = read_info(devnet_dir)
    return info.rpc_url if info is not None else DEFAULT_RPC_URL


def resolve_deployment(chain_id: int, deployments_dir: Path, devnet_dir: Path) -> Deployment:
    try:
        return load_deployment(chain_id, deployments_dir)
    except DeploymentNotFound:
        info = read_info(devnet_dir)
        if info is not None and info.chain_id == chain_id:
            return info.deployment
        raise


def connect(
    rpc_url: str | None,
    deployments_dir: Path,
    devnet_dir: Path,
    keystore: Path | None,
    *,
    signing: bool = True,
) -> MarketClient:
    """The market client for the configured chain, acting as the configured key (`signing`)."""
    url = resolve_rpc_url(rpc_url, devnet_dir)
    rpc = Rpc.connect(url)
    deployment = resolve_deployment(rpc.chain_id, deployments_dir, devnet_dir)
    account = load_signer(rpc.chain_id, keystore=keystore) if signing else None
    return MarketClient(rpc, deployment, account=account)


CHAIN_FAILURES: tuple[type[BaseException], ...] = (ChainError, OSError, ValueError)


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry)


def setup_daemon_logging(as_json: bool) -> None:
    """A daemon's log: one JSON object per line on stdout with --json, else readable lines on stderr."""
    handler = logging.StreamHandler(sys.stdout if as_json else sys.stderr)
    if as_json:
        handler.setFormatter(_JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so a daemon finishes its step and shuts down cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
