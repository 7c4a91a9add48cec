"""A validator started on a fresh data folder reads the market's whole history: it must not replay (nor vote
on) the seats of jobs already settled, or whose voting window has closed. Real anvil and the market; the
results are never fetched, so no Docker and no training are needed."""

from __future__ import annotations

import json
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
)
from jobs.cid import Cid
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from tests.validator.validator_cast import HONEST_PROVIDER, VALIDATORS, job_spec
from validator.config import ValidatorConfig
from validator.daemon import ValidatorNode
from validator.state import Phase

VERIFY_BLOCKS = 5


def submitted_job(requester: MarketClient) -> JobId:
    """A job claimed and submitted by the honest provider's account; its committee of three is every
    registered validator."""
    bundle = Cid.from_chain(b"\x51" * 32, 0x55)
    job_id = requester.post_job(job_spec(bundle, verify_blocks=VERIFY_BLOCKS)).job_id
    provider = requester.with_account(dev_account(HONEST_PROVIDER))
    provider.claim_job(job_id)
    provider.submit_result(job_id, ResultCommitment(b"\x33" * 32, b"\x44" * 32, 3))
    DevChain(requester.rpc).mine(1)  # the seed block
    assert dev_account(VALIDATORS[0]).address in requester.predict_committee(job_id)
    return job_id


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
) -> None:
    settled = submitted_job(requester)
    dev_chain.mine(VERIFY_BLOCKS + 1)
    assert requester.finalize(settled).outcome is Outcome.UNVERIFIED  # nobody verified it in its window
    unsettled = submitted_job(requester)
    dev_chain.mine(VERIFY_BLOCKS + 1)  # its window closed too, and nobody has settled it yet
    assert requester.status_of(unsettled) == JobStatus.SUBMITTED

    account = dev_account(VALIDATORS[0])
    client = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=account)
    executor = NoopExecutor()
    node = CountingNode(
        client, store, executor, ValidatorConfig(data_dir=tmp_path / "fresh", poll_interval_s=0.05)
    )
    try:
        for _ in range(5):
            node.step()
            assert node.wait_idle(30)
        records = {record.job_id: record for record in node.state.records()}
    finally:
        node.close()

    assert node.verified == [] and executor.requests == [], "no seat of a finished job is verified again"
    first, second = records[settled], records[unsettled]
    assert (first.phase, first.outcome, first.tries) == (Phase.ABSTAINED, "unverified", 0)
    assert "settled" in first.reason or "Unverified" in first.reason, first.reason
    assert (second.phase, second.tries) == (Phase.ABSTAINED, 0) and "window closed" in second.reason
    assert second.outcome == "unverified", "the node settles the job whose window closed"
    assert requester.job(unsettled).votes == (0, 0), "and votes on neither"


def test_a_validator_takes_its_seat_only_once_the_seed_block_is_mined(
    requester: MarketClient,
    dev_chain: DevChain,
    rpc: Rpc,
    deployment: Deployment,
    artifacts: Artifacts,
    sender: TxSender,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    """The committee is drawn from the hash of the block after the submission: before it is mined the node
    records no seat and keeps its event checkpoint before the submission (a restart reads it again)."""
    bundle = Cid.from_chain(b"\x52" * 32, 0x55)
    job_id = requester.post_job(job_spec(bundle, verify_blocks=VERIFY_BLOCKS)).job_id
    provider = requester.with_account(dev_account(HONEST_PROVIDER))
    provider.claim_job(job_id)
    submit_block = provider.submit_result(
        job_id, ResultCommitment(b"\x33" * 32, b"\x44" * 32, 3)
    ).tx.block_number
    assert rpc.block_number() == submit_block, "the seed block is not mined yet"

    account = dev_account(VALIDATORS[0])
    client = MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=account)
    config = ValidatorConfig(data_dir=tmp_path / "seed", poll_interval_s=0.05)
    node = ValidatorNode(client, store, NoopExecutor(), config)
    try:
        node.step()
        assert node.state.records() == [], "no seat before the seed block"
        assert reader_checkpoint(node) < submit_block, "the submission is read again later"

        dev_chain.mine(1)  # the seed block
        node.step()
        node.wait_idle(30)
        (record,) = node.state.records()
    finally:
        node.close()
    assert (record.job_id, record.submit_block) == (job_id, submit_block)
    assert record.last_block == submit_block + 1 + VERIFY_BLOCKS
    assert record.result is not None
    assert record.result["seed"] == bytes(requester.seed_of(job_id)).hex()


def reader_checkpoint(node: ValidatorNode) -> int:
    """The last block the node's event reader has fully processed, as saved (-1 before any save)."""
    path = node.config.checkpoint_path
    return max(json.loads(path.read_text()).values()) if path.exists() else -1
