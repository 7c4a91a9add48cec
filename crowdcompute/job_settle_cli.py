"""`crowdcompute job accept|appeal`: settling a job's committee round, as its requester.

`accept` settles a unanimous acceptance at once (the requester waives its appeal; `--wait` follows the job
to its verdict first); `appeal` takes a round's decision to a larger committee. Registered on `job_app`
(`crowdcompute.job_cli`), with its options and its one-line failures.
"""

from __future__ import annotations

from typing import Annotated

import typer

from chain import JobId, enum_label
from cli_support import ChainOptions, chain_options, sent_payment, sent_tx, token_amount
from crowdcompute.job_cli import _FAILURES, GatewayOption, JobIdArgument, _emit, _gateway_url, job_app
from crowdcompute.requester import RequesterError, accept_unanimous, appeal_job, quote_appeal
from crowdcompute.requester.accept_wait import wait_and_accept

__all__ = ["accept", "appeal"]


@job_app.command("accept")
@chain_options()
def accept(
    job_id: JobIdArgument,
    gateway: GatewayOption = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the job until its committee's votes are revealed; settle it if every seat approved.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="With --wait: give up after this many seconds.")
    ] = 3600,
    *,
    opts: ChainOptions,
) -> None:
    """Settle a job you posted as soon as every seat of its committee approved, instead of after the appeal
    window: you waive your own appeal, the only one left when nobody voted against the result."""
    out = opts.output()
    try:
        market = opts.connect()
        if wait:
            waited = wait_and_accept(
                market,
                JobId(job_id),
                _gateway_url(gateway),
                timeout_s=timeout,
                on_state=lambda state: typer.echo(f"job {job_id}: {state}", err=True),
            )
            done = waited.finalized
            if done is None:
                closed = {"jobId": job_id, "state": waited.state, "acceptedByThisCall": False}
                _emit(out, closed, f"job {job_id} is {waited.state} (it closed without this call)")
                return
        else:
            with out.progress(f"Accepting job {job_id}"):
                done = accept_unanimous(market, JobId(job_id), _gateway_url(gateway))
        if done is None:
            raise RequesterError(
                f"job {job_id} cannot be accepted early: it is not yours, not waiting for its votes, or the "
                "gateway has not revealed a unanimous acceptance (every seat must vote, and approve); "
                f"it settles after its appeal window (`crowdcompute job status {job_id}`; --wait waits "
                "for the votes)"
            )
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "jobId": job_id,
        "state": "Accepted",
        "acceptedByThisCall": True,
        "accepts": done.accepts,
        **sent_tx(done.tx),
    }
    _emit(out, payload, f"job {job_id} accepted: {done.accepts} of {done.accepts} seats approved")


@job_app.command("appeal")
@chain_options()
def appeal(
    job_id: JobIdArgument,
    gateway: GatewayOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Appeal without asking to confirm the bond.")
    ] = False,
    *,
    opts: ChainOptions,
) -> None:
    """Appeal the current round's decision on a result (in its appeal window, right after the vote window):
    a fresh, larger committee decides next. Shows the round's decision (from the votes the gateway reveals:
    the appeal reveals them) and the bond, and asks to confirm. The bond comes back when the final round
    bears the appeal out; otherwise the seats that judged it share it."""
    out = opts.output()
    try:
        market = opts.connect()
        quote = quote_appeal(market, JobId(job_id), _gateway_url(gateway))
        text = (
            f"job {job_id}, round {quote.round} ({quote.seats} seats): {enum_label(quote.decision)} "
            f"({quote.accepts} accept, {quote.rejects} reject, {quote.seats - len(quote.votes)} silent); "
            f"appeal window blocks {quote.window[0]}..{quote.window[1]}\n"
            f"appealing bonds {token_amount(quote.bond)}; "
            f"round {quote.round + 1} draws {quote.next_seats} seats"
        )
        if not yes:
            if out.as_json:
                raise ValueError("--json needs --yes: an appeal bonds tokens, and there is nobody to ask")
            typer.echo(text, err=True)
            if not typer.confirm("Appeal?", default=False, err=True):
                typer.echo("not appealed", err=True)
                raise typer.Exit(1)
        with out.progress(f"Appealing job {job_id}"):
            appealed = appeal_job(market, quote)
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        **quote.to_json(),
        "appealedTo": appealed.round,
        "bond": str(appealed.bond),
        **sent_tx(appealed.tx),
        "payment": sent_payment(appealed.payment),
    }
    _emit(
        out,
        payload,
        f"job {job_id}: round {quote.round} appealed with a bond of {token_amount(appealed.bond)}; "
        f"round {appealed.round} ({quote.next_seats} seats) decides next, votes from block "
        f"{appealed.tx.block_number + 2}",
    )
