"""`crowdcompute job submit|status|logs|download|cancel|accept|appeal`: a requester's commands.

Built on `crowdcompute.requester`. Same key, RPC and deployment options as the provider and validator
commands (`cli_support`). Every command takes `--json` (one JSON object on stdout; token amounts as
decimal strings of base units) and fails with one line naming the problem and exit status 1.
Bundles and results go through a gateway (`--gateway`, default http://127.0.0.1:8000) or straight to an
embedded content store (`--store-dir`), never both.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from chain import FINAL_ROUND, ChainError, JobId, JobStatus, Payment, PayWith, VoteReason, enum_label
from cli_support import (
    ChainOptions,
    Output,
    PayOption,
    chain_options,
    noun_app,
    parse_tokens,
    sent_payment,
    sent_tx,
    token_amount,
    when,
)
from crowdcompute.requester import (
    GatewayClient,
    LogGap,
    LogLine,
    NoProviderCanRun,
    RequesterError,
    cancel_job,
    download_result,
    job_summary,
    read_ballots,
    read_reports,
    report_lines,
    submit_job,
)
from crowdcompute.requester.confidential import is_confidential, open_result
from crowdcompute.requester.logs import Retry, follow_log, read_log
from jobs.errors import JobsError
from jobs.failure import FAILURE_SEGMENT
from jobs.store import ContentStore, StoreSettings, open_store

__all__ = ["job_app"]

job_app = noun_app("job", "Post a training job, follow it, read its logs, download its result, or cancel it.")

DEFAULT_GATEWAY = "http://127.0.0.1:8000"
_FAILURES = (RequesterError, ChainError, JobsError, OSError, ValueError)

GatewayOption = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        help=f"Gateway URL (default: $CROWDCOMPUTE_GATEWAY_URL, else {DEFAULT_GATEWAY}).",
        show_default=False,
    ),
]
StoreDirOption = Annotated[
    Path | None,
    typer.Option(
        "--store-dir",
        help="Use this embedded content store directly instead of a gateway.",
        show_default=False,
    ),
]
JobIdArgument = Annotated[int, typer.Argument(min=1, help="The job's id.")]


def _emit(out: Output, payload: dict[str, Any], text: str) -> None:
    """`Output.emit`, but text goes out unwrapped: CIDs and hashes must stay whole for copying."""
    if out.as_json:
        out.emit(payload, text)
    else:
        typer.echo(text)


def _gateway_url(given: str | None) -> str:
    # Read here, not as the option's envvar, so that --store-dir wins over a gateway set in the environment.
    return given or os.environ.get("CROWDCOMPUTE_GATEWAY_URL") or DEFAULT_GATEWAY


def _tokens_option(help_text: str) -> Any:
    return typer.Option(help=help_text + " Tokens, e.g. 12.5.", show_default=False)


@contextlib.contextmanager
def _content(gateway: str | None, store_dir: Path | None) -> Iterator[tuple[ContentStore | None, str | None]]:
    """(store, gateway URL), exactly one set: the store when --store-dir is given, else the gateway."""
    if gateway and store_dir:
        raise RequesterError("--gateway and --store-dir exclude each other; give one")
    if store_dir is None:
        yield None, _gateway_url(gateway)
        return
    # An explicit --store-dir means this embedded store, even where CROWDCOMPUTE_KUBO_API is set.
    with open_store(StoreSettings(store_dir=store_dir.expanduser(), kubo_api=None)) as store:
        yield store, None


@contextlib.contextmanager
def _result_sources(
    gateway: str | None, store_dir: Path | None
) -> Iterator[tuple[ContentStore | None, str | None]]:
    """Where a result is looked for, in order: --store-dir when given, then the gateway (--gateway,
    $CROWDCOMPUTE_GATEWAY_URL or the default), then the Kubo node of CROWDCOMPUTE_KUBO_API if set."""
    if store_dir is None:
        yield None, _gateway_url(gateway)
        return
    with open_store(StoreSettings(store_dir=store_dir.expanduser(), kubo_api=None)) as store:
        yield store, _gateway_url(gateway)


@job_app.command("submit")
@chain_options()
def submit(
    folder: Annotated[Path, typer.Argument(help="The job folder (job.toml at its root).")],
    budget: Annotated[str | None, _tokens_option("What the provider is paid.")] = None,
    collateral: Annotated[str | None, _tokens_option("Stake the provider locks.")] = None,
    validator_fee: Annotated[str | None, _tokens_option("Fee per committee member.")] = None,
    verify_blocks: Annotated[
        int | None, typer.Option(min=1, help="Voting window in blocks.", show_default=False)
    ] = None,
    run_timeout: Annotated[
        int | None, typer.Option(min=1, help="Seconds from claim to deadline.", show_default=False)
    ] = None,
    reopen: Annotated[
        bool, typer.Option("--reopen/--no-reopen", help="Reopen the job if its provider fails it.")
    ] = True,
    gateway: GatewayOption = None,
    store_dir: StoreDirOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Post even when no registered provider would run the job as it stands (the reasons "
            "are printed; without --force a terminal asks, anything else refuses).",
        ),
    ] = False,
    pay: PayOption = PayWith.AUTO,
    confidential: Annotated[
        bool,
        typer.Option(
            "--confidential",
            help="Seal the bundle: only its public manifest and ciphertext leave this machine; providers get "
            "the key when their claim is mined (keep `crowdcompute job keys serve` running, or use "
            "--seal-to).",
        ),
    ] = False,
    seal_to: Annotated[
        list[str] | None,
        typer.Option(
            "--seal-to",
            help="With --confidential: seal the key to this provider at post (repeat for several), for when "
            "no key agent will be running.",
            show_default=False,
        ),
    ] = None,
    *,
    opts: ChainOptions,
) -> None:
    """Pack FOLDER, check that a registered provider would run it, store or upload its bundle, post the
    job with its escrow (defaults as in the dApp). A job pinning runtime/image.lock's image id is posted
    as written, unless the network here runs another id: then a copy pinned to it, with a warning.
    The market takes the escrow from your allowance: by default the standing one when it covers the
    escrow, else an EIP-2612 permit in the same transaction, else an approve of exactly the escrow."""
    out = opts.output()

    def progress(line: str) -> None:
        if not opts.as_json:
            typer.echo(line, err=True)  # plain: a long CID or path must not be wrapped

    try:
        overrides: dict[str, Any] = {"verify_blocks": verify_blocks, "run_timeout": run_timeout}
        overrides["reopen_on_failure"] = reopen
        for name, text in (("collateral", collateral), ("validator_fee", validator_fee)):
            if text is not None:
                overrides[name] = parse_tokens(text, what=f"--{name.replace('_', '-')}", allow_zero=True)
        budget_units = parse_tokens(budget, what="--budget") if budget is not None else None
        market = opts.connect()
        with _content(gateway, store_dir) as (store, gateway_url):
            submitted = submit_job(
                market,
                folder,
                store=store,
                gateway_url=gateway_url,
                budget=budget_units,
                on_progress=progress,
                force=force,
                pay=pay,
                confirm=None if opts.as_json or not sys.stdin.isatty() else _ask_to_post_anyway,
                confidential=confidential,
                seal_to=tuple(seal_to or ()),
                **{k: v for k, v in overrides.items() if v is not None},
            )
        view = market.job(submitted.job_id)
    except NoProviderCanRun as exc:
        _refuse(out, exc)
    except _FAILURES as exc:
        out.fail(exc)
    spec = view.job.spec
    payload = {
        "jobId": submitted.job_id,
        "bundleCid": str(submitted.bundle_cid),
        **sent_tx(submitted.tx),
        "budget": str(spec.budget),
        "protocolFee": str(spec.protocol_fee),
        "escrow": str(spec.escrow),
        "state": "Open",
        "warnings": list(submitted.warnings),
        "forced": bool(submitted.warnings),
        "pinnedTo": submitted.pinned_to,
        "payment": sent_payment(submitted.payment),
        "confidential": submitted.confidential,
        "presealedTo": list(submitted.presealed_to),
    }
    text = (
        f"job {submitted.job_id} posted: bundle {submitted.bundle_cid}, escrow {token_amount(spec.escrow)}, "
        f"tx {submitted.tx_hash} (gas {submitted.tx.gas_used}), paid by {_paid_by(submitted.payment)}"
    )
    if submitted.warnings:
        text += "\nposted anyway, although " + "; ".join(submitted.warnings)
    _emit(out, payload, text)


def _paid_by(payment: Payment) -> str:
    if payment.approval is not None:
        return f"approve tx {payment.approval.tx_hash} (gas {payment.approval.gas_used})"
    return "permit" if payment.method == PayWith.PERMIT else "the standing allowance"


def _ask_to_post_anyway(reasons: list[str]) -> bool:
    typer.echo("No registered provider would run this job as it stands:", err=True)
    for reason in reasons:
        typer.echo(f"  - {reason}", err=True)
    question = "Post it anyway? Its escrow stays locked until you cancel it"
    return typer.confirm(question, default=False, err=True)


def _refuse(out: Output, exc: NoProviderCanRun) -> NoReturn:
    """Like `Output.fail`, with the reasons also as a list in the JSON."""
    if out.as_json:
        typer.echo(json.dumps({"error": type(exc).__name__, "message": str(exc), "reasons": exc.reasons}))
        raise typer.Exit(1)
    out.fail(exc)


@job_app.command("status")
@chain_options(keystore=False)
def status(
    job_id: JobIdArgument,
    gateway: GatewayOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """The job as the chain has it: state, provider, votes by seat, result CID and checkpoint root; and,
    from the gateway, why providers skip it and the energy it used (the providers' own reports)."""
    out = opts.output()
    try:
        market = opts.connect(signing=False)
        view = market.job(JobId(job_id))
        ballots = read_ballots(market, view)
    except _FAILURES as exc:
        out.fail(exc)
    reports = read_reports(_gateway_url(gateway), JobId(job_id), market.address)
    summary = job_summary(view, ballots)
    votes = summary["votes"]
    lines = [
        f"job {job_id}: {summary['state']}",
        f"  requester  {summary['requester']}",
        f"  provider   {summary['provider'] or '-'}",
        f"  bundle     {summary['bundleCid']}",
        f"  budget     {token_amount(view.job.spec.budget)} (escrow {token_amount(view.job.spec.escrow)}, "
        f"protocol fee {token_amount(view.job.spec.protocol_fee)})",
        (
            f"  votes      {votes['accepts']} accept, {votes['rejects']} reject "
            if ballots or view.status == JobStatus.CLOSED
            else "  votes      not revealed yet (finalize reveals them together) "
        )
        + f"(committee of {summary['committeeSize']}, mode {summary['mode']})",
        *(
            f"    seat {b.slot}  {b.validator}  {'accept' if b.approve else 'reject'} ("
            + ("failure re-run" if b.segment == FAILURE_SEGMENT else f"segment {b.segment}")
            + (f", {enum_label(b.reason)})" if b.reason != VoteReason.RECOMPUTED else ")")
            for b in ballots
        ),
        f"  result     {summary['resultCid'] or '-'}",
    ]
    if failure := summary["failureReport"]:
        lines.append(
            "  failure    the result is a failure report: the provider says the job failed by its own fault; "
            f"{failure['reproduced']} seat(s) reproduced the failure, {failure['refuted']} did not "
            f"(`crowdcompute job download {job_id}` has the record, `crowdcompute job logs {job_id}` the log)"
        )
    if summary["checkpointRoot"]:
        lines.append(f"  root       {summary['checkpointRoot']} ({summary['checkpointCount']} checkpoints)")
    if window := summary["votingWindow"]:
        lines.append(
            f"  voting     blocks {window['firstBlock']}..{window['lastBlock']} "
            f"(seeded by block {window['seedBlock']})"
        )
    if summary["round"] or summary["appealWindow"]:
        final = view.status == JobStatus.SUBMITTED and summary["round"] >= FINAL_ROUND
        stands = " (the final round: its decision stands)" if final else ""
        lines.append(f"  round      {summary['round']} ({summary['roundSeats']} seats){stands}")
    if appeal := summary["appealWindow"]:
        lines.append(
            f"  appeal     blocks {appeal['firstBlock']}..{appeal['lastBlock']} "
            f"(`crowdcompute job appeal {job_id}` to have a larger committee decide)"
        )
    if summary["deadline"]:
        lines.insert(3, f"  deadline   {when(summary['deadline'])}")
    lines += report_lines(reports)
    _emit(out, {**summary, "reports": reports.to_json()}, "\n".join(lines))


@job_app.command("logs")
@chain_options(chain=False)
def logs(
    job_id: JobIdArgument,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
    after: Annotated[int, typer.Option(min=-1, help="Only lines with a greater seq.")] = -1,
    gateway: GatewayOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """The job's execution logs, relayed by the gateway (with --json --follow: one JSON line each).

    Lines the gateway never received show as "[lines 120-171 not received]". Following reconnects when
    the gateway restarts or the stream drops, and goes on after the last line printed."""
    out = opts.output()
    url = _gateway_url(gateway)
    try:
        with GatewayClient(url) as client:
            if follow:
                _follow_logs(client, JobId(job_id), after, as_json=opts.as_json)
                return
            page = read_log(client, JobId(job_id), after=after)
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "jobId": job_id,
        "lines": [_line_json(line) for line in page.lines],
        "gaps": [{"first": gap.first, "last": gap.last} for gap in page.gaps],
        "nextSeq": page.next_seq,
        "jobState": page.job_state,
    }
    text = "\n".join(item.text if isinstance(item, LogLine) else str(item) for item in page.entries())
    _emit(out, payload, text or f"(no log lines yet; the job is {page.job_state})")


def _follow_logs(client: GatewayClient, job_id: JobId, after: int, *, as_json: bool) -> None:
    def retry(notice: Retry) -> None:
        typer.echo(
            f"job {job_id}: lost the gateway's log stream ({notice.reason}); reconnecting in "
            f"{notice.delay_s:g} s (attempt {notice.attempt})",
            err=True,
        )

    def resume(cursor: int) -> None:
        where = f"after line {cursor}" if cursor >= 0 else "from the start"
        typer.echo(f"job {job_id}: reconnected; going on {where}", err=True)

    for item in follow_log(client, job_id, after=after, on_retry=retry, on_resume=resume):
        if isinstance(item, LogLine):
            typer.echo(json.dumps(_line_json(item)) if as_json else item.text)
        elif isinstance(item, LogGap):
            gap = {"jobId": job_id, "gap": {"first": item.first, "last": item.last}}
            typer.echo(json.dumps(gap) if as_json else str(item))
        elif as_json:
            typer.echo(json.dumps({"jobId": job_id, "jobState": item}))
        else:
            typer.echo(f"job {job_id} ended: {item}", err=True)


def _line_json(line: LogLine) -> dict[str, Any]:
    return {"seq": line.seq, "text": line.text, "stream": line.stream, "ts": line.ts}


@job_app.command("download")
@chain_options()
def download(
    job_id: JobIdArgument,
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the result.")],
    gateway: GatewayOption = None,
    store_dir: StoreDirOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """Fetch the job's result by its on-chain CID, verify it, extract it into DEST, and check its
    checkpoints against the committed Merkle root. A confidential job's result is opened here with the
    result key its provider sealed to you (your account's key: --keystore or CROWDCOMPUTE_PRIVATE_KEY)."""
    out = opts.output()
    try:
        market = opts.connect(signing=False)
        view = market.job(JobId(job_id))
        opener = None
        if is_confidential(view.job):
            market = opts.connect()
            opener = functools.partial(
                open_result, market, view.job_id, view.job, int(view.job.state.attempts)
            )
        with (
            _result_sources(gateway, store_dir) as (store, gateway_url),
            out.progress("Downloading the result"),
        ):
            downloaded = download_result(view, dest, store=store, gateway_url=gateway_url, open_sealed=opener)
    except _FAILURES as exc:
        out.fail(exc)
    summary = job_summary(view)
    folder = downloaded.path
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    payload = {
        "jobId": job_id,
        "state": summary["state"],
        "resultCid": summary["resultCid"],
        "path": str(folder),
        "files": files,
        "checkpoints": downloaded.checkpoints.to_json(),
        "failure": downloaded.failure.to_json() if downloaded.failure else None,
    }
    text = (
        f"job {job_id} ({summary['state']}): result {summary['resultCid']} -> {folder} ({len(files)} files)\n"
        f"{downloaded.checkpoints.describe()}"
    )
    if failure := downloaded.failure:
        segment = failure.segment
        where = f"in segment {segment}" if segment is not None else "before its first checkpoint"
        text += (
            f"\nthe result is a failure report: the job {failure.outcome} {where} ({failure.reason}); "
            f"its log: `crowdcompute job logs {job_id}`"
        )
    _emit(out, payload, text)


@job_app.command("cancel")
@chain_options()
def cancel(
    job_id: JobIdArgument,
    *,
    opts: ChainOptions,
) -> None:
    """Cancel an open job you posted; its escrow comes back at once."""
    out = opts.output()
    try:
        market = opts.connect()
        with out.progress(f"Cancelling job {job_id}"):
            cancelled = cancel_job(market, JobId(job_id))
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "jobId": job_id,
        "state": "Cancelled",
        "refund": str(cancelled.refund),
        **sent_tx(cancelled.tx),
    }
    _emit(out, payload, f"job {job_id} cancelled: {token_amount(cancelled.refund)} refunded")


# The settling commands (accept, appeal) live in their own module and register on `job_app` when it loads.
from crowdcompute import job_keys_cli as _keys_commands  # noqa: E402,F401
from crowdcompute import job_settle_cli as _settle_commands  # noqa: E402,F401
