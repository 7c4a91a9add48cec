"""The requester's library: post a job folder, follow it, fetch its result, cancel it.

Public API (the `crowdcompute job ...` commands and the demo are built on these):

* `job_spec_for(manifest, bundle_cid, *, budget=None, collateral=None, validator_fee=None,
  verify_blocks=None, run_timeout=None, fee_bps=0, min_collateral_bps=0) -> JobSpec`: the on-chain spec for a
  manifest, with the dApp's rules and defaults (frontend/src/lib/jobSpec.ts `buildJobSpec`) and the market's
  protocol fee and collateral ratio; amounts in base units;
* `submit_job(market, job_dir, *, store=None, gateway_url=None, budget=None, on_progress=None,
  force=False, confirm=None, **spec_overrides) -> SubmittedJob`: pin an example's placeholder image id,
  pack, validate, check that a registered provider would run it (`checks`; else `NoProviderCanRun` unless
  forced or confirmed), store or upload the bundle (exactly one), post with a permit (else plain
  `postJob`), return once mined;
* `read_reports(gateway_url, job_id)`: why providers skip the job and the energy it used (`reports`);
* `wait_for_status(market, job_id, until, *, timeout_s, poll_s=0.5, on_change=None) -> JobView`;
* `download_result(job, dest, *, store=None, gateway_url=None) -> DownloadedResult`: fetch the result CID,
  verify it, extract it safely, check its checkpoints against the committed root (`verify_checkpoints`);
* `accept_unanimous(market, job_id, gateway_url)`: settle a job every seat approved without waiting out the
  appeal window (the requester waives its appeal; `accept`);
* `cancel_job(market, job_id)`, and the helpers `state_of(view)`, `result_of(view)`,
  `read_ballots(market, view)` (the votes by seat, from the chain's events), `job_summary(view, ballots)`;
* `GatewayClient` (uploads, content, logs: `LogLine`, `LogGap`, `LogPage`) and `SubmittedJob`;
  `crowdcompute.requester.logs.follow_log` follows a job's log through gateway restarts;
* `RequesterError`, the root of every error raised here, and its subclasses in `errors`.
"""

from __future__ import annotations

from crowdcompute.requester.accept import accept_unanimous
from crowdcompute.requester.appeal import AppealQuote, appeal_job, quote_appeal
from crowdcompute.requester.cancel import cancel_job
from crowdcompute.requester.checkpoints import CheckpointCheck, verify_checkpoints
from crowdcompute.requester.download import DownloadedResult, download_result
from crowdcompute.requester.errors import (
    CheckpointMismatch,
    ContentMismatch,
    GatewayRefused,
    GatewayUnreachable,
    InsufficientTokens,
    InvalidJob,
    InvalidSpec,
    JobEnded,
    MarketIsPaused,
    NoProviderCanRun,
    NoResult,
    NotAppealable,
    NotCancellable,
    RequesterError,
    ResultUnavailable,
    UnpinnedRuntime,
    WaitTimeout,
)
from crowdcompute.requester.follow import ResultRef, job_summary, result_of, state_of, wait_for_status
from crowdcompute.requester.gateway import GatewayClient, LogGap, LogLine, LogPage
from crowdcompute.requester.reports import ProviderReports, read_reports, report_lines
from crowdcompute.requester.spec import job_spec_for
from crowdcompute.requester.submit import SubmittedJob, submit_job
from crowdcompute.requester.votes import Ballot, read_ballots

__all__ = [
    "AppealQuote",
    "Ballot",
    "CheckpointCheck",
    "CheckpointMismatch",
    "ContentMismatch",
    "DownloadedResult",
    "GatewayClient",
    "GatewayRefused",
    "GatewayUnreachable",
    "InsufficientTokens",
    "InvalidJob",
    "InvalidSpec",
    "JobEnded",
    "LogGap",
    "LogLine",
    "LogPage",
    "MarketIsPaused",
    "NoProviderCanRun",
    "NoResult",
    "NotAppealable",
    "NotCancellable",
    "ProviderReports",
    "RequesterError",
    "ResultRef",
    "ResultUnavailable",
    "SubmittedJob",
    "UnpinnedRuntime",
    "WaitTimeout",
    "accept_unanimous",
    "appeal_job",
    "cancel_job",
    "download_result",
    "job_spec_for",
    "job_summary",
    "quote_appeal",
    "read_ballots",
    "read_reports",
    "report_lines",
    "result_of",
    "state_of",
    "submit_job",
    "verify_checkpoints",
    "wait_for_status",
]
