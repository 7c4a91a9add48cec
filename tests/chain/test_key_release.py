"""The market's KeyRelease and `releaseClaim` through the Python clients, on anvil (docs/confidential.md)."""

from __future__ import annotations

import os

import pytest

from chain import (
    ContractRevert,
    Deployment,
    DevChain,
    JobStatus,
    JobStore,
    ReleaseReason,
    is_confidential,
)
from tests.chain.market_cast import Cast, make_spec

RESULT_KEY = bytes.fromhex("11" * 32)


def reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, check=lambda e: e.error_name == name)


def confidential_claim(cast: Cast, **changes: object) -> tuple[int, int]:
    """A confidential job posted by the requester and claimed by the provider: (job id, deadline)."""
    posted = cast.requester.post_job(make_spec(result_key=RESULT_KEY, **changes))
    claimed = cast.provider.claim_job(posted.job_id)
    return posted.job_id, claimed.job.state.deadline


def test_is_confidential_reads_the_result_key() -> None:
    assert is_confidential(make_spec(result_key=RESULT_KEY))
    assert not is_confidential(make_spec())


def test_the_market_client_reaches_its_key_release(cast: Cast) -> None:
    keys = cast.provider.key_release()
    assert keys.address == cast.provider.call("keyRelease")
    # the deployment record carries it too (deployments/<chainId>.json, the dApp's deployment.ts)
    assert cast.provider.deployment.key_release == keys.address
    assert Deployment.from_json(cast.provider.deployment.to_json()).key_release == keys.address
    assert keys.call("market") == cast.provider.address
    assert keys.me == cast.provider.me and keys.sender is cast.provider.sender


def test_encryption_keys_are_published_and_read(cast: Cast) -> None:
    keys = cast.provider.key_release()
    assert keys.encryption_key_of(cast.provider.me) is None
    public = os.urandom(32)
    keys.set_encryption_key(public)
    assert cast.outsider.key_release().encryption_key_of(cast.provider.me) == public
    with pytest.raises(ValueError, match="32 bytes"):
        keys.set_encryption_key(b"\x00" * 32)


def test_a_released_key_is_recorded_and_read_back_with_its_sender(cast: Cast) -> None:
    job_id, deadline = confidential_claim(cast)
    sealed = os.urandom(80)
    cast.requester.key_release().release_key(job_id, sealed)

    keys = cast.provider.key_release()
    assert keys.key_released(job_id, cast.provider.me, deadline)
    assert not keys.key_released(job_id, cast.provider_b.me, deadline)
    [seal] = keys.sealed_keys(job_id, recipient=cast.provider.me)
    assert (seal.sender, seal.recipient, seal.sealed, seal.recorded) == (
        cast.requester.me,
        cast.provider.me,
        sealed,
        True,
    )


def test_a_late_release_is_published_but_not_recorded(cast: Cast, dev_chain: DevChain) -> None:
    job_id, deadline = confidential_claim(cast)
    dev_chain.increase_time(3600 // 4 + 5)
    cast.requester.key_release().release_key(job_id, b"\x01" * 48)
    keys = cast.provider.key_release()
    assert not keys.key_released(job_id, cast.provider.me, deadline)
    assert [s.recorded for s in keys.sealed_keys(job_id)] == [False]


def test_published_seals_are_listed_per_recipient(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast)
    seats = [v.me for v in cast.validators[:3]]
    seals = [os.urandom(112) for _ in seats]
    cast.provider.key_release().publish_keys(job_id, list(zip(seats, seals, strict=True)))

    keys = cast.validators[1].key_release()
    [mine] = keys.sealed_keys(job_id, recipient=seats[1])
    assert (mine.sender, mine.sealed, mine.recorded) == (cast.provider.me, seals[1], None)
    assert [s.recipient for s in keys.sealed_keys(job_id)] == seats


def test_only_the_requester_releases_and_only_for_confidential_jobs(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast)
    with reverts("NotJobRequester") as caught:
        cast.outsider.key_release().release_key(job_id, b"\x01")
    assert "requester" in caught.value.message
    clear = cast.requester.post_job(make_spec())
    cast.provider_b.claim_job(clear.job_id)
    with reverts("NotConfidential") as caught:
        cast.requester.key_release().release_key(clear.job_id, b"\x01")
    assert "not confidential" in caught.value.message
    with reverts("NotConfidential"):
        cast.provider_b.release_claim(clear.job_id)


def test_seal_lengths_are_checked_before_sending(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast)
    with pytest.raises(ValueError, match=r"1\.\.256"):
        cast.requester.key_release().release_key(job_id, b"")
    with pytest.raises(ValueError, match=r"1\.\.256"):
        cast.provider.key_release().publish_keys(job_id, [(cast.outsider.me, b"\x00" * 257)])


def test_a_claim_without_a_key_goes_back_free_and_the_job_reopens_as_it_was(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast)
    stake_before = cast.provider.account_of(cast.provider.me).stake

    released = cast.provider.release_claim(job_id)

    assert (released.reason, released.burned, released.reopened) == (ReleaseReason.KEY_NOT_RELEASED, 0, True)
    assert released.job is not None and released.job.state.attempts == 0
    assert cast.provider.account_of(cast.provider.me).stake == stake_before
    assert cast.provider.account_of(cast.provider.me).locked == 0
    # Another client rebuilds the job from events alone, and another provider claims it.
    view = fresh_store(cast).load(job_id)
    assert (view.status, view.job) == (JobStatus.OPEN, released.job)
    cast.provider_b.claim_job(job_id)


def test_a_claim_given_back_after_a_recorded_key_burns_the_collateral(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast, reopen_on_failure=False)
    cast.requester.key_release().release_key(job_id, os.urandom(80))
    collateral = cast.provider.jobs.job(job_id).spec.collateral
    burn_before = cast.provider.call("feesToBurn")

    released = cast.provider.release_claim(job_id)

    assert (released.reason, released.burned, released.reopened) == (
        ReleaseReason.KEY_REFUSED,
        collateral,
        False,
    )
    assert cast.provider.call("feesToBurn") == burn_before + collateral
    view = fresh_store(cast).load(job_id)
    assert (view.status, view.closed_by) == (JobStatus.CLOSED, "ClaimReleased")


def test_a_refused_key_on_a_reopening_job_reopens_it_for_the_next_attempt(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast, reopen_on_failure=True)
    cast.requester.key_release().release_key(job_id, os.urandom(80))

    released = cast.provider.release_claim(job_id)

    assert (released.reason, released.reopened) == (ReleaseReason.KEY_REFUSED, True)
    assert released.job is not None and released.job.state.attempts == 1
    view = fresh_store(cast).load(job_id)
    assert (view.status, view.job) == (JobStatus.OPEN, released.job)


def test_only_the_claimant_releases_its_claim(cast: Cast) -> None:
    job_id, _ = confidential_claim(cast)
    with reverts("NotJobProvider"):
        cast.provider_b.release_claim(job_id)


def fresh_store(cast: Cast) -> JobStore:
    market = cast.outsider
    return JobStore(market.rpc, market.address, market.codec, start_block=market.deployment.block_number)
