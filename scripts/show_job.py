#!/usr/bin/env python3
"""Show one job as the chain has it: spec, state, status, votes (once revealed), seat holders and events.

The job is rebuilt from its events and checked against the word the market stores for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from chain import (
    DEPLOYMENTS_DIR,
    ChainError,
    JobId,
    JobStatus,
    JobView,
    MarketClient,
    Rpc,
    enum_label,
    first_vote_block,
    last_vote_block,
    seed_block,
    to_jsonable,
)
from cli_support import token_amount

app = typer.Typer(add_completion=False, rich_markup_mode=None)


def _describe(view: JobView, committee: list[str]) -> str:
    spec, state = view.job.spec, view.job.state
    closed = ""
    if view.closed_by:
        outcome = f", {enum_label(view.outcome)}" if view.outcome is not None else ""
        closed = f" ({view.closed_by}{outcome})"
    fees = f"{spec.committee_size} x {token_amount(spec.validator_fee)} fees"
    lines = [
        f"job {view.job_id}: {enum_label(view.status)}{closed}",
        f"  requester  {spec.requester}",
        f"  budget     {token_amount(spec.budget)} + {fees}; reward {token_amount(spec.reward)}; "
        f"collateral {token_amount(spec.collateral)}",
        f"  needs      {spec.gpu_count} GPU(s), {spec.gpu_memory_mib} MiB GPU memory, "
        f"class {spec.gpu_class}, {spec.cpu_cores} cores, {spec.memory_mib} MiB memory",
        f"  verify     {enum_label(spec.mode)}, committee {spec.committee_size}, "
        f"{spec.samples_per_validator} samples each, {spec.verify_blocks} blocks",
        f"  bundle     0x{spec.bundle_digest.hex()} (codec 0x{spec.bundle_codec:02x})",
    ]
    if state.provider != "0x" + "00" * 20:
        lines.append(f"  provider   {state.provider} (deadline {state.deadline})")
    if state.submit_block:
        votes = (
            f"votes {view.votes[0]} accept, {view.votes[1]} reject"
            if view.status == JobStatus.CLOSED
            else "votes revealed together by finalize"
        )
        lines.append(f"  submitted  block {state.submit_block}; {votes}")
        lines.append(
            f"  voting     blocks {first_vote_block(state.submit_block)}.."
            f"{last_vote_block(state.submit_block, spec.verify_blocks)} "
            f"(seeded by block {seed_block(state.submit_block)})"
        )
    if committee:
        lines.append("  committee  " + ", ".join(f"seat {seat} {who}" for seat, who in enumerate(committee)))
    elif view.status == JobStatus.SUBMITTED:
        lines.append(f"  committee  drawn once block {seed_block(state.submit_block)} is mined")
    lines.append("  events     " + ", ".join(f"{e.name}@{e.block_number}" for e in view.events))
    return "\n".join(lines)


def _committee(market: MarketClient, job_id: int) -> list[str]:
    """The seat holders (drawn by stake from the job's roster snapshot); none before the seed block."""
    try:
        return [str(a) for a in market.committee_of(JobId(job_id))]
    except ChainError:
        return []


@app.command(help=__doc__)
def main(
    job_id: Annotated[int, typer.Argument(help="The job id (ids start at 1).")],
    rpc_url: Annotated[str, typer.Option(envvar="CROWDCOMPUTE_RPC_URL", help="JSON-RPC endpoint.")] = (
        "http://127.0.0.1:8545"
    ),
    deployments_dir: Annotated[Path, typer.Option(help="Where deployments/<chainId>.json is read from.")] = (
        DEPLOYMENTS_DIR
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> None:
    try:
        market = MarketClient.connect(Rpc.connect(rpc_url), deployments_dir=deployments_dir)
        view = market.job(JobId(job_id))
        committee = _committee(market, job_id) if view.status == JobStatus.SUBMITTED else []
    except ChainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        payload = to_jsonable(view)
        payload["events"] = [
            {"name": e.name, "block": e.block_number, "args": to_jsonable(e.args)} for e in view.events
        ]
        payload["committee"] = committee
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(_describe(view, committee))


if __name__ == "__main__":
    app()
