#!/usr/bin/env python3
"""Show an account as the market sees it: role, stake, collateral, unbonding, balances, capabilities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from eth_utils import is_address, to_checksum_address

from chain import DEPLOYMENTS_DIR, ChainError, MarketClient, Rpc, enum_label, to_jsonable
from cli_support import token_amount

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    address: Annotated[str, typer.Argument(help="The provider's (or any account's) address.")],
    rpc_url: Annotated[str, typer.Option(envvar="CROWDCOMPUTE_RPC_URL", help="JSON-RPC endpoint.")] = (
        "http://127.0.0.1:8545"
    ),
    deployments_dir: Annotated[Path, typer.Option(help="Where deployments/<chainId>.json is read from.")] = (
        DEPLOYMENTS_DIR
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
) -> None:
    if not is_address(address):
        raise typer.BadParameter(f"{address!r} is not an address", param_hint="ADDRESS")
    who = to_checksum_address(address)
    try:
        market = MarketClient.connect(Rpc.connect(rpc_url), deployments_dir=deployments_dir)
        account = market.account_of(who)
        caps = market.capabilities_of(who)
        metadata = market.metadata_of(who)
        held = market.token.balance_of(who)
    except ChainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        payload = {
            "address": who,
            "account": to_jsonable(account),
            "capabilities": to_jsonable(caps),
            "metadataDigest": "0x" + metadata.hex(),
            "tokens": held,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{who}: {enum_label(account.role)}")
    typer.echo(
        f"  stake {token_amount(account.stake)} (locked {token_amount(account.locked)}), "
        f"unbonding {token_amount(account.unbonding)} until {account.unbonding_release_at}"
    )
    typer.echo(f"  balance {token_amount(account.balance)}, rewards owed {token_amount(account.reward_owed)}")
    typer.echo(f"  holds {token_amount(held)}")
    typer.echo(
        f"  offers {caps.gpu_count} GPU(s), {caps.gpu_memory_mib} MiB GPU memory, class {caps.gpu_class}, "
        f"{caps.cpu_cores} cores, {caps.memory_mib} MiB memory at {token_amount(caps.price_per_hour)}/h"
    )
    typer.echo(f"  metadata 0x{metadata.hex()}")


if __name__ == "__main__":
    app()
