"""`crowdcompute devnet up|down|status|key`: the local chain with the market deployed, for development.

The devnet itself (start, stop, status) is `chain.devnet`; this is only its command, which shows token
amounts for people (`cli_support`), so it lives with the other entry points rather than in `chain/`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chain import (
    DEPLOYMENTS_DIR,
    DEV_PRIVATE_KEYS,
    DEV_ROLE_NAMES,
    DEVNET_DIR,
    ChainError,
    DevAccountRole,
    dev_account_index,
    dev_account_roles,
    is_dev_chain,
)
from cli_support import token_amount

devnet_app = typer.Typer(
    help="A local anvil chain with the market deployed and dev accounts funded.",
    no_args_is_help=True,
    add_completion=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]
StateDir = Annotated[Path, typer.Option("--state-dir", help="Where the devnet keeps its pid, port and log.")]


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
    else:
        Console().print(text)


def _fail(as_json: bool, exc: Exception) -> None:
    if as_json:
        typer.echo(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        Console(stderr=True).print(f"[red]{type(exc).__name__}[/red]: {exc}")
    raise typer.Exit(1)


@devnet_app.command("up")
def up(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (8545, else a free one).")] = None,
    block_time: Annotated[float, typer.Option(help="Seconds between blocks on an idle chain.")] = 1.0,
    state_dir: StateDir = DEVNET_DIR,
    deployments_dir: Annotated[Path, typer.Option(help="Where deployment records go.")] = DEPLOYMENTS_DIR,
    as_json: JsonOption = False,
) -> None:
    """Start anvil, deploy the market, fund the dev accounts (does nothing if the devnet already runs)."""
    from chain import devnet_up

    try:
        info, started = devnet_up(
            port=port, block_time=block_time, state_dir=state_dir, deployments_dir=deployments_dir
        )
    except ChainError as exc:
        _fail(as_json, exc)
        return
    verb = "started" if started else "already running"
    text = (
        f"devnet {verb}: {info.rpc_url} (chain id {info.chain_id}, pid {info.pid})\n"
        f"  market {info.deployment.market}\n  token  {info.deployment.token}"
        f"\n  keys   {info.deployment.key_release or 'market.keyRelease()'}"
    )
    _emit(as_json, {"started": started, **info.to_json()}, text)


@devnet_app.command("down")
def down(state_dir: StateDir = DEVNET_DIR, as_json: JsonOption = False) -> None:
    """Stop the devnet's anvil process."""
    from chain import devnet_down

    stopped = devnet_down(state_dir)
    _emit(as_json, {"stopped": stopped}, "devnet stopped" if stopped else "no devnet was running")


def _print_roles(roles: tuple[DevAccountRole, ...]) -> None:
    """One plain line per account (no table: a key must stay whole for copying)."""
    typer.echo(
        "\ndev accounts and their roles (anvil's PUBLIC keys: for this dev chain only, never elsewhere;\n"
        "give a role's key to its command as CROWDCOMPUTE_PRIVATE_KEY=<key>):"
    )
    width = max(len(role.role or "free") for role in roles)
    for role in roles:
        typer.echo(
            f"  {role.index}  {(role.role or 'free').ljust(width)}  {role.address}  {role.private_key}"
        )


@devnet_app.command("status")
def status(state_dir: StateDir = DEVNET_DIR, as_json: JsonOption = False) -> None:
    """Show the devnet's addresses, head block, the dev accounts' balances, and on a dev chain (31337,
    1337) which dev account plays which role, with its public key."""
    from chain import devnet_status

    try:
        current = devnet_status(state_dir)
    except ChainError as exc:
        _fail(as_json, exc)
        return
    roles = dev_account_roles(current.info.chain_id) if current.running and current.info else ()
    if as_json:
        payload = current.to_json()
        if roles:
            payload["devAccounts"] = [role.to_json() for role in roles]
        _emit(True, payload, "")
    elif not current.running or current.info is None:
        Console().print("no devnet is running (start one with `crowdcompute devnet up`)")
    else:
        info = current.info
        console = Console()
        head = f"block {current.block_number}"
        console.print(f"devnet at {info.rpc_url}, chain id {info.chain_id}, pid {info.pid}, {head}")
        console.print(f"  market {info.deployment.market}\n  token  {info.deployment.token}")
        console.print(f"  keys   {info.deployment.key_release or 'market.keyRelease()'}")
        table = Table("account", "ETH", "CROWD")
        for balance in current.balances:
            table.add_row(balance.address, f"{balance.eth / 10**18:,.4f}", token_amount(balance.tokens, ""))
        console.print(table)
        if roles:
            _print_roles(roles)
    if not current.running:
        raise typer.Exit(3)


@devnet_app.command("key")
def key(
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(DEV_ROLE_NAMES)}.", show_default=False)],
    number: Annotated[int, typer.Argument(help="Which one of the role: provider 2, validator 3.")] = 1,
    state_dir: StateDir = DEVNET_DIR,
) -> None:
    """Print the public dev key of the account that plays ROLE on the running devnet, alone on its line:
    `export CROWDCOMPUTE_PRIVATE_KEY=$(crowdcompute devnet key provider)`. Dev chains only."""
    from chain import devnet_status

    try:
        index = dev_account_index(role, number)
        current = devnet_status(state_dir)
    except (ChainError, ValueError) as exc:
        _fail(False, exc)
        return
    if not current.running or current.info is None:
        _fail(False, ChainError("no devnet is running: start one with `crowdcompute devnet up`"))
        return
    if not is_dev_chain(current.info.chain_id):
        _fail(False, ChainError(f"chain {current.info.chain_id} is not a dev chain: its keys are not ours"))
        return
    typer.echo(DEV_PRIVATE_KEYS[index])
