"""Following a job and downloading its result: a scripted provider claims, packs an output
(jobs/bundle/output.py), pins it and submits its CID; the requester waits, then fetches and extracts it."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest

from api.settings import Settings
from chain import JobStatus, JobView, MarketClient, ResultCommitment
from crowdcompute.requester import (
    NoResult,
    ResultUnavailable,
    WaitTimeout,
    download_result,
    job_summary,
    result_of,
    state_of,
    submit_job,
    wait_for_status,
)
from jobs.store import EmbeddedStore
from tests.requester.requester_jobs import provide_result, write_job


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_wait_sees_each_change_and_download_extracts_the_submitted_result(
    requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_id = submit_job(requester, write_job(tmp_path / "job"), store=store).job_id
    seen: list[JobStatus] = []
    worker = threading.Timer(0.3, provide_result, (provider, job_id, store, tmp_path / "work"))
    worker.start()
    try:
        view = wait_for_status(
            requester,
            job_id,
            {JobStatus.SUBMITTED},
            timeout_s=20,
            poll_s=0.05,
            on_change=lambda v: seen.append(v.status),
        )
    finally:
        worker.join()
    assert seen[0] == JobStatus.OPEN and seen[-1] == JobStatus.SUBMITTED
    assert state_of(view) == "Submitted"
    summary = job_summary(view)
    assert summary["provider"] == provider.me and summary["checkpointCount"] == 3

    result = result_of(view)
    assert result is not None and summary["resultCid"] == str(result.cid)
    downloaded = download_result(view, tmp_path / "result", store=store)
    folder = downloaded.path
    assert folder == tmp_path / "result"
    assert (downloaded.checkpoints.count, downloaded.checkpoints.root) == (3, result.checkpoint_root)
    assert _tree(folder) == _tree(tmp_path / "work" / "output")


def test_download_through_the_gateway_verifies_the_bytes(
    requester: MarketClient,
    provider: MarketClient,
    gateway_url: str,
    gateway_settings: Settings,
    tmp_path: Path,
) -> None:
    job_id = submit_job(requester, write_job(tmp_path / "job"), gateway_url=gateway_url).job_id
    # The provider pins into the store the gateway serves from (its embedded store, same machine).
    with EmbeddedStore(gateway_settings.data_dir / "store", fsync=False) as gateway_store:
        _, files = provide_result(provider, job_id, gateway_store, tmp_path / "work")
    folder = download_result(requester.job(job_id), tmp_path / "result", gateway_url=gateway_url).path
    assert _tree(folder) == files


def test_a_hostile_result_is_refused_and_nothing_is_extracted(
    requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_id = submit_job(requester, write_job(tmp_path / "job"), store=store).job_id
    provider.claim_job(job_id)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = b"owned"
        info = tarfile.TarInfo("../outside.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    cid = store.add_bytes(archive.getvalue())
    digest, codec = cid.to_chain()
    provider.submit_result(job_id, ResultCommitment(digest, b"\x01" * 32, 1, codec))

    with pytest.raises(ResultUnavailable) as caught:
        download_result(requester.job(job_id), tmp_path / "result", store=store)
    assert "not a safe archive" in str(caught.value)
    assert not (tmp_path / "result").exists() and not (tmp_path / "outside.txt").exists()


def test_no_result_yet_and_a_wait_that_times_out_say_where_the_job_is(
    requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_id = submit_job(requester, write_job(tmp_path / "job"), store=store).job_id
    view: JobView = requester.job(job_id)
    with pytest.raises(NoResult, match=f"job {job_id} is Open: no result has been submitted yet"):
        download_result(view, tmp_path / "result", store=store)
    with pytest.raises(WaitTimeout, match=f"job {job_id} is still Open after 0.2 s") as caught:
        wait_for_status(requester, job_id, {JobStatus.SUBMITTED}, timeout_s=0.2, poll_s=0.05)
    assert caught.value.last == JobStatus.OPEN
