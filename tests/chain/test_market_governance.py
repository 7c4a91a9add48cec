"""The deployed market's governance: a timelock governor, a guardian who pauses, what a pause leaves open."""

from __future__ import annotations

import pytest

from chain import ContractRevert, DevChain, JobStatus, dev_account
from chain.revert_messages import MARKET_PAUSED_MESSAGE
from tests.chain.market_cast import BASE_SPEC, RESULT, Cast, mine_until_settleable


def reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, check=lambda e: e.error_name == name)


def test_deployment_records_the_timelock_and_guardian(cast: Cast) -> None:
    governance = cast.deployer.deployment.governance
    assert governance is not None
    assert cast.deployer.governor() == governance.timelock
    assert cast.deployer.guardian() == governance.guardian == dev_account(0).address
    assert governance.min_delay == 60  # a dev chain's delay
    assert governance.proposers == governance.executors == (dev_account(0).address,)
    assert cast.deployer.config() == cast.deployer.deployment.config


def test_paused_market_refuses_posts_and_claims_with_a_clear_message(cast: Cast, dev_chain: DevChain) -> None:
    open_job = cast.requester.post_job(BASE_SPEC)
    cast.deployer.pause()
    assert cast.requester.paused()
    with reverts("MarketPaused") as refused:
        cast.requester.post_job(BASE_SPEC)
    assert str(refused.value) == MARKET_PAUSED_MESSAGE
    with reverts("MarketPaused"):
        cast.provider.claim_job(open_job.job_id)
    cast.deployer.unpause()
    cast.provider.claim_job(open_job.job_id)


def test_paused_market_settles_running_jobs_and_pays_out(cast: Cast, dev_chain: DevChain) -> None:
    cancelled = cast.requester.post_job(BASE_SPEC)
    running = cast.requester.post_job(BASE_SPEC)
    cast.provider.claim_job(running.job_id)
    cast.deployer.pause()

    cast.requester.cancel_job(cancelled.job_id)
    cast.provider.submit_result(running.job_id, RESULT)
    dev_chain.mine(1)
    mine_until_settleable(cast.requester, running.job_id)
    cast.requester.finalize(running.job_id, cast.signed_votes(running.job_id, [True, True, True]))
    assert cast.requester.status_of(running.job_id) == JobStatus.CLOSED
    assert cast.provider.withdraw().amount == BASE_SPEC.budget
    cast.provider.request_unbond(cast.provider.account_of().stake)
    assert cast.requester.paused()


def test_only_the_guardian_pauses_and_only_the_governor_sets_config(cast: Cast, dev_chain: DevChain) -> None:
    with reverts("NotGuardian"):
        cast.outsider.pause()
    with reverts("NotGovernor"):  # the deployer proposes on the timelock but is not the governor
        cast.deployer.transact("setConfig", cast.deployer.config().to_abi())
