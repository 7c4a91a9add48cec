"""The `crowdcompute` command: one Typer app per noun (devnet, store, ...), joined here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="crowdcompute",
    help="A decentralized marketplace for ML compute.",
    no_args_is_help=True,
    add_completion=False,
)


def _register_nouns() -> None:
    from api.cli import gateway_app
    from crowdcompute.account_cli import account_app
    from crowdcompute.demo_cli import demo
    from crowdcompute.devnet_cli import devnet_app
    from crowdcompute.job_cli import job_app
    from crowdcompute.market_cli import market_app
    from jobs.store.cli import store_app
    from provider_node.cli import provider_app
    from validator.cli import validator_app

    app.add_typer(devnet_app, name="devnet")
    app.add_typer(store_app, name="store")
    app.add_typer(gateway_app, name="gateway")
    app.add_typer(provider_app, name="provider")
    app.add_typer(validator_app, name="validator")
    app.command("demo")(demo)
    app.add_typer(job_app, name="job")
    app.add_typer(account_app, name="account")
    app.add_typer(market_app, name="market")


def main() -> None:
    _register_nouns()
    app()
