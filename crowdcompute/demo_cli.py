"""`crowdcompute demo [--exit] [--keep]`: the whole marketplace on this machine, one job through it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["demo"]


def demo(
    exit_: Annotated[
        bool,
        typer.Option(
            "--exit",
            help="Leave once the job is accepted and verified (exit 0) and print a final JSON line, "
            "instead of keeping the dApp up until Ctrl-C.",
        ),
    ] = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Keep every file of the run (chain, content store, node folders) under the demo folder; "
            "by default only logs/ and results/ stay.",
        ),
    ] = False,
    cheat: Annotated[
        bool,
        typer.Option(
            "--cheat",
            help="Run one cheating provider (it forges three quarters of its checkpoints) instead of two "
            "honest ones; the validators must reject the result.",
        ),
    ] = False,
    cheat_mode: Annotated[
        str,
        typer.Option(
            "--cheat-mode",
            hidden=True,
            help="With --cheat: forge (fake checkpoints) or withhold-keys (a confidential job's keys never "
            "reach the committee).",
        ),
    ] = "forge",
    confidential: Annotated[
        bool,
        typer.Option(
            "--confidential",
            help="Post the job sealed (docs/confidential.md): the requester's key agent releases its key to "
            "the provider that claims it, and the result is opened only on download.",
        ),
    ] = False,
    segments: Annotated[
        int, typer.Option(min=1, help="Segments of the digits job (its job.toml has the full count).")
    ] = 40,
    interval: Annotated[int, typer.Option(min=1, help="Training steps per segment.")] = 100,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the verdict.")] = 300.0,
    verify_blocks: Annotated[
        int,
        typer.Option(
            min=10,
            help="Blocks (1 s each on the devnet) the committee has to vote; a verdict the requester cannot "
            "settle early (a rejection) then waits as long again for appeals.",
        ),
    ] = 75,
    root: Annotated[
        Path | None, typer.Option(help="The demo's folder (default: build/demo in the repository).")
    ] = None,
) -> None:
    """Start anvil, the gateway, two providers and three validators, run the digits job through them."""
    from crowdcompute.demo.run import DEFAULT_ROOT, DemoOptions, run_demo

    options = DemoOptions(
        root=root or DEFAULT_ROOT,
        exit=exit_,
        keep=keep,
        cheat=cheat,
        confidential=confidential,
        cheat_mode=cheat_mode,
        interval=interval,
        segments=segments,
        timeout_s=timeout,
        verify_blocks=verify_blocks,
    )
    code = run_demo(options)
    if code:
        raise typer.Exit(code)
