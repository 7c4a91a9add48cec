"""Rebuilding a job from its events, checked against the word the market stores."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chain import JOB_WORD_HASH_SHIFT, JobNotFound, JobStatus, JobStore, JobWord, Rpc, job_events
from tests.chain.market_cast import BASE_SPEC, Cast


class CountingRpc(Rpc):
    def __init__(self, inner: Rpc) -> None:
        super().__init__(inner.w3, decoder=inner.decoder, url=inner.url)
        self.log_queries = 0

    def get_logs(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.log_queries += 1
        return super().get_logs(**kwargs)


def store_for(cast: Cast, rpc: Rpc) -> JobStore:
    market = cast.requester
    return JobStore(rpc, market.address, market.codec, start_block=market.deployment.block_number)


def test_events_handed_in_spare_the_log_query(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    claimed = cast.provider.claim_job(posted.job_id)
    counting = CountingRpc(cast.requester.rpc)
    store = store_for(cast, counting)
    store.apply([*posted.events, *claimed.events])
    view = store.load(posted.job_id)
    assert (view.status, view.job) == (JobStatus.CLAIMED, claimed.job)
    assert counting.log_queries == 0


def test_the_word_checks_the_rebuilt_job(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    store = store_for(cast, cast.requester.rpc)
    word = store.word(posted.job_id)
    assert word.status == JobStatus.OPEN and word.matches(store.hash_job(posted.job))
    assert store.hash_job(posted.job) == cast.requester.hash_job(posted.job)
    altered = dataclasses.replace(posted.job, spec=dataclasses.replace(posted.job.spec, budget=1))
    assert not word.matches(store.hash_job(altered))


def test_a_wrong_cached_event_is_repaired_from_the_chain(cast: Cast) -> None:
    posted = cast.requester.post_job(BASE_SPEC)
    claimed = cast.provider.claim_job(posted.job_id)
    event = claimed.events_named("JobClaimed")[0]
    forged = dataclasses.replace(event, args={**event.args, "provider": cast.outsider.me}, block_number=10**6)
    store = store_for(cast, cast.requester.rpc)
    store.apply([*posted.events, forged])
    assert store.load(posted.job_id).job == claimed.job


def test_unknown_job_is_not_found(cast: Cast) -> None:
    with pytest.raises(JobNotFound, match="job 42"):
        cast.requester.job(42)


def test_word_fields() -> None:
    job_hash = bytes([0xAB]) * 32
    word = JobWord((int.from_bytes(job_hash, "big") >> JOB_WORD_HASH_SHIFT << JOB_WORD_HASH_SHIFT) | 3)
    assert word.status == JobStatus(3)
    assert word.matches(job_hash) and not word.matches(bytes(32))


def test_job_events_are_the_abis_events_keyed_by_job(cast: Cast) -> None:
    events = job_events(cast.requester.codec)
    assert {"JobPosted", "JobClaimed", "ResultSubmitted", "VoteCast", "JobFinalized"} <= set(events)
    # account events carry no job id first: they never reach a job's fold
    assert not {"ProviderRegistered", "StakeAdded", "Withdrawn"} & set(events)
    for name in events:
        first = cast.requester.codec.events[name].entry["inputs"][0]
        assert first["name"] == "jobId" and first["indexed"]
