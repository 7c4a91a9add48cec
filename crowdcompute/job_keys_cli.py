"""`crowdcompute job keys show|serve`: the requester's encryption key, and the key agent of confidential jobs.

`serve` watches the market for claims of your confidential jobs and releases each job's content key, sealed to
the claiming provider, within the key window (docs/confidential.md). Registered on `job_app`
(`crowdcompute.job_cli`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Annotated

import typer

from cli_support import ChainOptions, chain_options
from crowdcompute.job_cli import _FAILURES, GatewayOption, StoreDirOption, _content, _emit, job_app
from crowdcompute.requester.confidential import (
    KeyAgent,
    Released,
    requester_keys,
    salt_from_gateway,
    salt_from_store,
)

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Your encryption key for confidential jobs, and the agent that releases their keys to providers.",
    no_args_is_help=True,
)
job_app.add_typer(keys_app, name="keys")


@keys_app.command("show")
@chain_options()
def show(*, opts: ChainOptions) -> None:
    """Your X25519 public key for confidential jobs' results (derived from your account: nothing to keep)."""
    out = opts.output()
    try:
        market = opts.connect()
        public = requester_keys(market).public
    except _FAILURES as exc:
        out.fail(exc)
    _emit(out, {"account": market.me, "encryptionKey": "0x" + public.hex()}, f"{market.me}: 0x{public.hex()}")


@keys_app.command("serve")
@chain_options()
def serve(
    gateway: GatewayOption = None,
    store_dir: StoreDirOption = None,
    from_block: Annotated[
        int, typer.Option(min=0, help="Look for claims from this block on (0: the chain's start).")
    ] = 0,
    once: Annotated[bool, typer.Option("--once", help="Release what is due now and exit.")] = False,
    *,
    opts: ChainOptions,
) -> None:
    """Release your confidential jobs' content keys to the providers whose claims are mined, until Ctrl-C.

    Each key is sealed to the claiming provider's published encryption key and released on chain within the
    key window (the first quarter of the job's run timeout); a provider that gets none by then gives the claim
    back without losing its collateral. The bundle's key salt is read from its public manifest (the gateway or
    --store-dir), so the agent needs nothing saved from the post."""
    out = opts.output()

    def report(released: Released) -> None:
        if released.block is not None:
            line = f"job {released.job_id}: key released to {released.provider} in block {released.block}"
        else:
            line = f"job {released.job_id}: no key released to {released.provider}: {released.reason}"
        typer.echo(line, err=True)

    stop = threading.Event()
    try:
        market = opts.connect()
        with _content(gateway, store_dir) as (store, gateway_url):
            salts = salt_from_store(store) if store is not None else salt_from_gateway(str(gateway_url))
            agent = KeyAgent(market, salts, start_block=from_block, on_release=report)
            if once:
                released = agent.step()
            else:
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                typer.echo(f"releasing the keys of {market.me}'s confidential jobs (Ctrl-C stops)", err=True)
                with contextlib.suppress(KeyboardInterrupt):
                    agent.serve(stop)
                released = []
    except _FAILURES as exc:
        out.fail(exc)
    payload = [
        {"jobId": r.job_id, "provider": r.provider, "block": r.block, "reason": r.reason or None}
        for r in released
    ]
    _emit(out, {"released": payload}, f"{sum(r.block is not None for r in released)} key(s) released")
