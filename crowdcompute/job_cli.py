"""`crowdcompute job submit|status|logs|download|cancel`: a requester's commands.

Built on `crowdcompute.requester`. Same key, RPC and deployment options as the provider and validator
commands (`cli_support`). Every command takes `--json` (one JSON object on stdout; token amounts as
decimal strings of base units) and fails with one line naming the problem and exit status 1.
Bundles and results go through a gateway (`--gateway`, default http://127.0.0.1:8000) or straight to an
embedded content store (`--store-dir`), never both.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from chain import ChainError, JobId
from cli_support import (
    ChainOptions,
    Output,
    chain_options,
    noun_app,
    parse_tokens,
    token_amount,
    when,
)
from crowdcompute.requester import (
    GatewayClient,
    LogLine,
    RequesterError,
    cancel_job,
    download_result,
    job_summary,
    submit_job,
)
from jobs.errors import JobsError
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
    *,
    opts: ChainOptions,
) -> None:
    """Pack FOLDER, store or upload its bundle, post the job with its escrow (defaults as in the dApp)."""
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
                **{k: v for k, v in overrides.items() if v is not None},
            )
        view = market.job(submitted.job_id)
    except _FAILURES as exc:
        out.fail(exc)
    spec = view.job.spec
    payload = {
        "jobId": submitted.job_id,
        "bundleCid": str(submitted.bundle_cid),
        "txHash": submitted.tx_hash,
        "gasUsed": submitted.gas_used,
        "budget": str(spec.budget),
        "escrow": str(spec.escrow),
        "state": "Open",
    }
    text = (
        f"job {submitted.job_id} posted: bundle {submitted.bundle_cid}, escrow {token_amount(spec.escrow)}, "
        f"tx {submitted.tx_hash} (gas {submitted.gas_used})"
    )
    _emit(out, payload, text)


@job_app.command("status")
@chain_options(keystore=False)
def status(
    job_id: JobIdArgument,
    *,
    opts: ChainOptions,
) -> None:
    """The job as the chain has it: state, provider, votes and result CID."""
    out = opts.output()
    try:
        market = opts.connect(signing=False)
        view = market.job(JobId(job_id))
    except _FAILURES as exc:
        out.fail(exc)
    summary = job_summary(view)
    votes = summary["votes"]
    lines = [
        f"job {job_id}: {summary['state']}",
        f"  requester  {summary['requester']}",
        f"  provider   {summary['provider'] or '-'}",
        f"  bundle     {summary['bundleCid']}",
        f"  budget     {token_amount(view.job.spec.budget)} (escrow {token_amount(view.job.spec.escrow)})",
        f"  votes      {votes['accepts']} accept, {votes['rejects']} reject "
        f"(committee of {summary['committeeSize']}, mode {summary['mode']})",
        f"  result     {summary['resultCid'] or '-'}",
    ]
    if summary["deadline"]:
        lines.insert(3, f"  deadline   {when(summary['deadline'])}")
    _emit(out, summary, "\n".join(lines))


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
    """The job's execution logs, relayed by the gateway (with --json --follow: one JSON line each)."""
    out = opts.output()
    url = _gateway_url(gateway)
    try:
        with GatewayClient(url) as client:
            if not follow:
                page = client.read_logs(JobId(job_id), after=after)
                payload = {
                    "jobId": job_id,
                    "lines": [_line_json(line) for line in page.lines],
                    "nextSeq": page.next_seq,
                    "jobState": page.job_state,
                }
                text = "\n".join(line.text for line in page.lines)
                _emit(out, payload, text or f"(no log lines yet; the job is {page.job_state})")
                return
            for item in client.follow_logs(JobId(job_id), after=after):
                if isinstance(item, LogLine):
                    typer.echo(json.dumps(_line_json(item)) if opts.as_json else item.text)
                elif opts.as_json:
                    typer.echo(json.dumps({"jobId": job_id, "jobState": item}))
                else:
                    typer.echo(f"job {job_id} ended: {item}", err=True)
    except _FAILURES as exc:
        out.fail(exc)


def _line_json(line: LogLine) -> dict[str, Any]:
    return {"seq": line.seq, "text": line.text, "stream": line.stream, "ts": line.ts}


@job_app.command("download")
@chain_options(keystore=False)
def download(
    job_id: JobIdArgument,
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the result.")],
    gateway: GatewayOption = None,
    store_dir: StoreDirOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """Fetch the job's result by its on-chain CID, verify it, and extract it into DEST."""
    out = opts.output()
    try:
        market = opts.connect(signing=False)
        view = market.job(JobId(job_id))
        with _content(gateway, store_dir) as (store, gateway_url), out.progress("Downloading the result"):
            folder = download_result(view, dest, store=store, gateway_url=gateway_url)
    except _FAILURES as exc:
        out.fail(exc)
    summary = job_summary(view)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    payload = {
        "jobId": job_id,
        "state": summary["state"],
        "resultCid": summary["resultCid"],
        "path": str(folder),
        "files": files,
    }
    _emit(
        out,
        payload,
        f"job {job_id} ({summary['state']}): result {summary['resultCid']} -> {folder} ({len(files)} files)",
    )


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
        "txHash": cancelled.tx.tx_hash,
        "gasUsed": cancelled.tx.gas_used,
    }
    _emit(out, payload, f"job {job_id} cancelled: {token_amount(cancelled.refund)} refunded")
