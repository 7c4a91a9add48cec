"""`crowdcompute account status|withdraw` (issue 13, problem 5): a requester's refund from an Unverified
job lands in its market balance, and `account withdraw` moves it to the wallet."""

from __future__ import annotations

from pathlib import Path

from chain import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    REQUESTER_ACCOUNT,
    AnvilProcess,
    DevChain,
    MarketClient,
    Outcome,
)
from crowdcompute.account_cli import account_app
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.settled_jobs import SPEC, register_validators, submitted_job

ME = DEV_ADDRESSES[REQUESTER_ACCOUNT]


def test_withdraw_moves_an_unverified_jobs_refund_to_the_wallet(
    anvil: AnvilProcess,
    deployments_dir: Path,
    dev_chain: DevChain,
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    cli = json_cli(account_app, options, {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER_ACCOUNT]})
    register_validators(market)
    job_id, _ = submitted_job(requester, provider, store, tmp_path / "work")
    dev_chain.mine(2 * SPEC.verify_blocks + 1)  # nobody votes within the window, nobody appeals
    assert market.finalize(job_id).outcome == Outcome.UNVERIFIED
    refund = requester.account_of().balance
    bond = market.config().validator_slash
    # No seat voted: the budget and every fee come back; the silent seats' bonds go to the unjudged provider.
    assert refund == SPEC.escrow
    assert provider.account_of().balance == SPEC.committee_size * bond

    status = cli("status")
    wallet = requester.token.balance_of(ME)
    assert (status["address"], status["balance"], status["rewardOwed"]) == (ME, str(refund), "0")
    assert status["wallet"] == str(wallet)

    paid = cli("withdraw")
    assert (paid["amount"], paid["reward"], paid["status"]) == (str(refund), "0", "success")
    assert set(paid) >= {"tx_hash", "block", "gas_used"}
    assert requester.token.balance_of(ME) == wallet + refund == int(paid["wallet"])
    assert requester.account_of().balance == 0

    nothing = cli("withdraw", ok=False)
    assert nothing["message"].startswith(f"nothing to withdraw: {ME} has no balance and no reward owed")
