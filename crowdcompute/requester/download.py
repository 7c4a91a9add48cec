"""Fetch a job's result by the CID its provider committed on chain, verify it, extract it safely.

The result is a canonical tar (`jobs.bundle.output`) written by untrusted code, so it is extracted with
`jobs.bundle.extract_bundle` (no paths leaving the folder, no devices, size limits), all or nothing. Its
checkpoints are then checked against the Merkle root the provider committed (`checkpoints.py`); a result
that fails is removed again, never left looking like a good one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chain import JobStatus, JobView
from crowdcompute.requester.checkpoints import CheckpointCheck, verify_checkpoints
from crowdcompute.requester.errors import NoResult, RequesterError, ResultUnavailable
from crowdcompute.requester.follow import result_of, state_of
from jobs.bundle import DEFAULT_LIMITS, BundleError, BundleLimits, extract_bundle
from jobs.failure import FailureRecord, FailureRecordError, is_failure_report, read_failure_record
from jobs.sealing import is_sealed_tree
from jobs.store import ContentSources, ContentStore, StoreError, StoreSettings, sources_from

__all__ = ["DownloadedResult", "download_result"]


@dataclass(frozen=True)
class DownloadedResult:
    """An extracted result whose checkpoints match the committed root."""

    path: Path
    checkpoints: CheckpointCheck
    failure: FailureRecord | None = None  # the result is a failure report (`jobs.failure`)


def download_result(
    job: JobView,
    dest: Path,
    *,
    store: ContentStore | None = None,
    gateway_url: str | None = None,
    limits: BundleLimits = DEFAULT_LIMITS,
    open_sealed: Callable[[Path], None] | None = None,
) -> DownloadedResult:
    """Extract job `job`'s current result into `dest` (which must not exist, or be an empty folder) and
    check its checkpoints against the committed root; raises `CheckpointMismatch` (and removes what was
    extracted) when they differ. A sealed result (a confidential job) is opened by `open_sealed` first; it
    is refused, and nothing of it left, without one or when it does not open. The content comes from
    `store` or from the gateway at `gateway_url`."""
    result = result_of(job)
    existed = Path(dest).is_dir()
    folder = _fetch_and_extract(job, dest, store=store, gateway_url=gateway_url, limits=limits)
    assert result is not None  # _fetch_and_extract refuses a job without one
    try:
        if is_sealed_tree(folder):  # a confidential job's result: opened before any digest is checked
            if open_sealed is None:
                raise RequesterError(
                    f"job {job.job_id}'s result is sealed (a confidential job): only its requester can "
                    "open it; download it with the requester's account "
                    "(--keystore or CROWDCOMPUTE_PRIVATE_KEY)"
                )
            open_sealed(folder)
        check = verify_checkpoints(folder, result)
    except RequesterError:
        shutil.rmtree(folder, ignore_errors=True)
        if existed:
            folder.mkdir()
        raise
    try:
        failure = read_failure_record(folder) if is_failure_report(folder) else None
    except FailureRecordError as exc:
        unreadable = f"result {result.cid} is a failure report that cannot be read: {exc}"
        raise ResultUnavailable(unreadable) from None
    return DownloadedResult(folder, check, failure)


def _fetch_and_extract(
    job: JobView,
    dest: Path,
    *,
    store: ContentStore | None = None,
    gateway_url: str | None = None,
    limits: BundleLimits = DEFAULT_LIMITS,
) -> Path:
    """Extract job `job`'s current result into `dest` (which must not exist, or be an empty folder).

    The content comes from the first of `store`, the gateway at `gateway_url` and the Kubo node of
    CROWDCOMPUTE_KUBO_API that has it (`jobs.store.sources`); every byte is checked against the result
    CID before extraction, whichever answered. Returns `dest`.
    """
    kubo_api = StoreSettings().kubo_api
    if store is None and not gateway_url and not kubo_api:
        raise RequesterError(
            "give a place to fetch from: a content store (--store-dir), a gateway URL (--gateway) "
            "or a Kubo node (CROWDCOMPUTE_KUBO_API)"
        )
    result = result_of(job)
    if result is None:
        if job.status == JobStatus.CLOSED:
            raise NoResult(f"job {job.job_id} was {state_of(job)}: it has no result")
        raise NoResult(
            f"job {job.job_id} is {state_of(job)}: no result has been submitted yet; it has one once it is "
            f"Submitted (see `crowdcompute job status {job.job_id}`)"
        )
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise RequesterError(f"{dest} already exists and is not an empty folder; choose a new destination")
    dest.parent.mkdir(parents=True, exist_ok=True)
    cid = result.cid
    sources = ContentSources(sources_from(store=store, gateway_url=gateway_url, kubo_api=kubo_api))
    try:
        with tempfile.TemporaryFile(dir=dest.parent) as spool:
            sources.fetch_to(cid, spool)
            spool.seek(0)
            extract_bundle(spool, dest, limits)
    except StoreError as exc:
        raise ResultUnavailable(
            f"result {cid} of job {job.job_id} cannot be had: {exc}. Its provider publishes it to the "
            "gateway; point --gateway at the one the provider uses, or --store-dir at its store"
        ) from None
    except (BundleError, ValueError) as exc:
        if isinstance(exc, RequesterError):
            raise
        raise ResultUnavailable(
            f"result {cid} of job {job.job_id} is not a safe archive and was not extracted: {exc}"
        ) from None
    finally:
        sources.close()
    return dest
