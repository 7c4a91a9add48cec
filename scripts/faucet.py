#!/usr/bin/env python3
"""Send test CROWD (and optionally ETH for gas) from the dev chain's treasury to an address.

Dev chain only: the treasury is anvil's account 0, and the script refuses any chain id but 31337 and 1337.
The market's address comes from deployments/<chainId>.json (written by `crowdcompute devnet up`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from eth_utils import is_address, to_checksum_address

from chain import DEPLOYMENTS_DIR, ChainError, DevChain, MarketClient, Rpc, dev_account, is_dev_chain, tokens
from cli_support import token_amount

app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command(help=__doc__)
def main(
    to: Annotated[str, typer.Argument(help="The receiving address.")],
    amount: Annotated[float, typer.Option(help="Tokens to send.")] = 1_000,
    eth: Annotated[
        float, typer.Option(help="Also set the address's ETH balance to this much (0: leave it).")
    ] = 0,
    rpc_url: Annotated[
        str, typer.Option(envvar="CROWDCOMPUTE_RPC_URL", help="The dev chain's JSON-RPC endpoint.")
    ] = ("http://127.0.0.1:8545"),
    deployments_dir: Annotated[Path, typer.Option(help="Where deployments/<chainId>.json is read from.")] = (
        DEPLOYMENTS_DIR
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    if not is_address(to):
        raise typer.BadParameter(f"{to!r} is not an address", param_hint="TO")
    receiver = to_checksum_address(to)
    try:
        rpc = Rpc.connect(rpc_url)
        if not is_dev_chain(rpc.chain_id):
            typer.echo(f"refusing: chain id {rpc.chain_id} is not a dev chain (31337 or 1337)", err=True)
            raise typer.Exit(2)
        market = MarketClient.connect(rpc, account=dev_account(0), deployments_dir=deployments_dir)
        if eth:
            DevChain(rpc).set_balance(receiver, int(tokens(eth)))
        tx = market.token.transfer(receiver, tokens(amount))
        balance = market.token.balance_of(receiver)
    except ChainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {"to": receiver, "amount": str(tokens(amount)), "balance": str(balance), "tx": tx.tx_hash}
            )
        )
    else:
        typer.echo(f"sent {token_amount(tokens(amount))} to {receiver}; it now holds {token_amount(balance)}")


if __name__ == "__main__":
    app()
