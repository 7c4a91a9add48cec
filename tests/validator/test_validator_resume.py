"""A validator started on a fresh data folder reads the market's whole history: it must not replay (nor vote
on) the seats of jobs already settled, or whose voting window has closed. Real anvil and the market; the
results are never fetched, so no Docker and no training are needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chain import (
    Artifacts,
    Deployment,
    DevChain,
    JobId,
    JobStatus,
    MarketClient,
    Outcome,
    ResultCommitment,
    Rpc,
    TxSender,
    dev_account,
    tokens,
)
from jobs.cid import Cid
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from tests.validator.relays import MemoryRelay
from tests.validator.validator_cast import HONEST_PROVIDER, VALIDATORS, job_spec
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode
from validator.state import Phase

VERIFY_BLOCKS = 5


def submitted_job(requester: MarketClient) -> JobId:
    """A job claimed and submitted by the honest provider's account, its seed block mined; its 15 seats
    are drawn among the three registered validators (each holds one with odds of 1 - (2/3)^15)."""
    bundle = Cid.from_chain(b"\x51" * 32, 0x55)
    spec = job_spec(bundle, verify_blocks=VERIFY_BLOCKS, committee_size=15, collateral=tokens(20))
    job_id = requester.post_job(spec).job_id
    provider = requester.with_account(dev_account(HONEST_PROVIDER))
    provider.claim_job(job_id)
    provider.submit_result(job_id, ResultCommitment(b"\x33" * 32, b"\x44" * 32, 3))
    DevChain(requester.rpc).mine(1)
    return job_id


def a_holder_of_each(requester: MarketClient, jobs: list[JobId]) -> int:
    """A validator (dev index) holding a seat on every one of `jobs`."""
    for index in VALIDATORS:
        if all(requester.seats_of(job, dev_account(index).address) for job in jobs):
            return index
    raise AssertionError(f"no validator holds a seat on each of {jobs}")


class CountingNode(ValidatorNode):
    """The real daemon, counting the verifications it starts (each would replay)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verified: list[JobId] = []
        verify = self.verifier.verify

        def counted(submission: Any, *, tries: int = 0) -> Any:
            self.verified.append(submission.job_id)
            return verify(submission, tries=tries)

        self.verifier.verify = counted  # type: ignore[method-assign]


def test_a_validator_on_a_fresh_data_folder_replays_no_job_settled_in_history(
    requester: MarketClient,
    dev_chain: DevChain,
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
    tmp_path: Path,
    relay: MemoryRelay,
) -> None:
    settled = submitted_job(requester)
    unsettled = submitted_job(requester)
    account = dev_account(a_holder_of_each(requester, [settled, unsettled]))
    dev_chain.mine(2 * VERIFY_BLOCKS + 1)  # the window and the appeal window
    assert requester.finalize(settled).outcome is Outcome.UNVERIFIED  # nobody verified it in its window
    assert requester.status_of(unsettled) == JobStatus.SUBMITTED  # its window closed too, still unsettled

    client = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=account)
    executor = NoopExecutor()
    node = CountingNode(
        client,
        store,
        executor,
        ValidatorConfig(data_dir=tmp_path / "fresh", poll_interval_s=0.05),
        relay=relay,
    )
    try:
        for _ in range(5):
            node.step()
            assert node.wait_idle(30)
        records = {record.job_id: record for record in node.state.records()}
    finally:
        node.close()

    assert node.verified == [] and executor.requests == [], "no seat of a finished job is verified again"
    assert settled not in records, "a job settled before its seats were drawn here leaves no seat"
    second = records[unsettled]
    assert (second.phase, second.tries) == (Phase.ABSTAINED, 0) and "window closed" in second.reason
    assert second.outcome == "unverified", "the node settles the job whose window closed"
    assert requester.job(unsettled).votes == (0, 0), "and votes on neither"
    assert relay.delivered == [], "nothing was signed"
