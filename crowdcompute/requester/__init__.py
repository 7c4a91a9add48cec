"""The requester's library: post a job folder, follow it, fetch its result, cancel it.

Public API (the `crowdcompute job ...` commands and the demo are built on these):

* `job_spec_for(manifest, bundle_cid, *, budget=None, collateral=None, validator_fee=None,
  verify_blocks=None, run_timeout=None) -> JobSpec`: the on-chain spec for a manifest, with the dApp's rules
  and defaults (frontend/src/lib/jobSpec.ts `buildJobSpec`); amounts in base units;
* `submit_job(market, job_dir, *, store=None, gateway_url=None, budget=None, on_progress=None,
  **spec_overrides) -> SubmittedJob`: pack, validate, store or upload the bundle (exactly one), post with a
  permit (else plain `postJob`), return once mined;
* `wait_for_status(market, job_id, until, *, timeout_s, poll_s=0.5, on_change=None) -> JobView`;
* `download_result(job, dest, *, store=None, gateway_url=None) -> Path`: fetch the result CID, verify it,
  extract it safely, return the folder;
* `cancel_job(market, job_id)`, and the helpers `state_of(view)`, `result_of(view)`, `job_summary(view)`;
* `GatewayClient` (uploads, content, logs) and `SubmittedJob`;
* `RequesterError`, the root of every error raised here, and its subclasses in `errors`.
"""

from __future__ import annotations

from crowdcompute.requester.cancel import cancel_job
from crowdcompute.requester.download import download_result
from crowdcompute.requester.errors import (
    ContentMismatch,
    GatewayRefused,
    GatewayUnreachable,
    InsufficientTokens,
    InvalidJob,
    InvalidSpec,
    NoResult,
    NotCancellable,
    RequesterError,
    ResultUnavailable,
    WaitTimeout,
)
from crowdcompute.requester.follow import ResultRef, job_summary, result_of, state_of, wait_for_status
from crowdcompute.requester.gateway import GatewayClient, LogLine, LogPage
from crowdcompute.requester.spec import job_spec_for
from crowdcompute.requester.submit import SubmittedJob, submit_job

__all__ = [
    "ContentMismatch",
    "GatewayClient",
    "GatewayRefused",
    "GatewayUnreachable",
    "InsufficientTokens",
    "InvalidJob",
    "InvalidSpec",
    "LogLine",
    "LogPage",
    "NoResult",
    "NotCancellable",
    "RequesterError",
    "ResultRef",
    "ResultUnavailable",
    "SubmittedJob",
    "WaitTimeout",
    "cancel_job",
    "download_result",
    "job_spec_for",
    "job_summary",
    "result_of",
    "state_of",
    "submit_job",
    "wait_for_status",
]
