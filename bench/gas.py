"""Gas of the job lifecycle, measured from receipts on a fresh anvil.

Each kind of job runs twice with the same accounts: the first shows first-time costs (cold balances, first job
id), the second the steady state that the targets are about.
- lifecycle_total: a job without a committee (mode None): post -> claim -> submit -> finalize after the
  window;
- verified_job_total: a committee of 3, every seat approving: post -> claim -> submit -> finalize carrying
  the 3 signed seats (votes are signed off chain and revealed together: a seat sends no transaction);
- vote_per_seat: (finalize with 3 seats - finalize with 1 seat) / 2, the marginal cost of a seat.
The requester posts from a standing (finite) allowance to the market, so `post_job` includes reading and
decrementing it; `post_job_with_permit` is a post by a requester with no allowance that pays through an
EIP-2612 permit in the same transaction (steady state: its second permit).
Prints a table and writes bench/results/gas.json. Targets are reported, not asserted
(`tests/contracts/gas/LifecycleGas.t.sol` asserts them).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

from eth_account.signers.local import LocalAccount

from chain import (
    DEFAULT_CONFIG,
    DEV_ADDRESSES,
    AnvilProcess,
    Capabilities,
    DevChain,
    JobSpec,
    MarketClient,
    PayWith,
    ResultCommitment,
    VerificationMode,
    deploy_market,
    dev_account,
    settle_block,
    tokens,
)

RESULTS = Path(__file__).resolve().parent / "results" / "gas.json"
TARGETS = {
    "lifecycle_total": 230_000,
    "post_job_with_permit": 130_000,
    "verified_job_total": 300_000,
    "vote_per_seat": 30_000,
}
STANDING_ALLOWANCE = tokens(1_000_000)
STEPS = ("post_job", "claim_job", "submit_result", "finalize", "lifecycle_total")
VERIFIED_STEPS = ("verified_post_job", "verified_claim_job", "verified_submit_result", "verified_finalize")

SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x22" * 32,
    bundle_codec=0x55,
    mode=VerificationMode.SEGMENTS,
    collateral=tokens(50),
    run_timeout=3600,
    gpu_count=1,
    gpu_memory_mib=4096,
    cpu_cores=2,
    memory_mib=4096,
    committee_size=3,
    samples_per_validator=2,
    verify_blocks=20,
    validator_fee=tokens(1),
)
RESULT = ResultCommitment(result_digest=b"\x33" * 32, checkpoint_root=b"\x44" * 32, checkpoint_count=16)
OPTIMISTIC_SPEC = dataclasses.replace(SPEC, mode=VerificationMode.NONE, committee_size=0)
SINGLE_SEAT_SPEC = dataclasses.replace(SPEC, committee_size=1)


def run_optimistic(chain: DevChain, requester: MarketClient, provider: MarketClient) -> dict[str, int]:
    """A job without a committee through its whole life; gas per step."""
    posted = requester.post_job(OPTIMISTIC_SPEC, pay=PayWith.ALLOWANCE)
    claimed = provider.claim_job(posted.job_id)
    submitted = provider.submit_result(posted.job_id, RESULT)
    chain.mine(OPTIMISTIC_SPEC.verify_blocks + 2)  # past the window: nothing to wait for
    finalized = provider.finalize(posted.job_id)
    gas = {
        "post_job": posted.tx.gas_used,
        "claim_job": claimed.tx.gas_used,
        "submit_result": submitted.tx.gas_used,
        "finalize": finalized.tx.gas_used,
    }
    gas["lifecycle_total"] = sum(gas[k] for k in ("post_job", "claim_job", "submit_result", "finalize"))
    return gas


def run_verified(
    chain: DevChain, market: MarketClient, requester: MarketClient, provider: MarketClient, spec: JobSpec
) -> dict[str, int]:
    """A job whose every seat approves, finalized once nobody can appeal any more; gas per step."""
    posted = requester.post_job(spec, pay=PayWith.ALLOWANCE)
    claimed = provider.claim_job(posted.job_id)
    submitted = provider.submit_result(posted.job_id, RESULT)
    chain.mine(2)  # the seed block and one more, so its hash is readable
    committee = market.committee_of(posted.job_id)
    votes = [
        market.with_account(_account_for(holder)).sign_vote(posted.job_id, seat, True)
        for seat, holder in enumerate(committee)
    ]
    job = market.jobs.job(posted.job_id)
    chain.mine_until(
        settle_block(job.state.submit_block, job.spec.verify_blocks, job.state.round)
    )  # no appeal
    finalized = provider.finalize(posted.job_id, votes)
    gas = {
        "post_job": posted.tx.gas_used,
        "claim_job": claimed.tx.gas_used,
        "submit_result": submitted.tx.gas_used,
        "finalize": finalized.tx.gas_used,
        "seats": len(committee),
        "distinct_holders": len(set(committee)),
    }
    gas["total"] = sum(gas[k] for k in ("post_job", "claim_job", "submit_result", "finalize"))
    return gas


def run_jobs(
    chain: DevChain, market: MarketClient, requester: MarketClient, provider: MarketClient
) -> dict[str, int]:
    """One job of each kind; the figures of one round."""
    gas = run_optimistic(chain, requester, provider)
    three = run_verified(chain, market, requester, provider, SPEC)
    one = run_verified(chain, market, requester, provider, SINGLE_SEAT_SPEC)
    gas.update({f"verified_{k}": v for k, v in three.items() if k != "total"})
    gas["verified_job_total"] = three["total"]
    gas["single_seat_finalize"] = one["finalize"]
    gas["vote_per_seat"] = (three["finalize"] - one["finalize"]) // 2
    return gas


def post_with_permit(requester: MarketClient) -> int:
    """Gas of a post paid by a permit for exactly the escrow, from an account with no allowance left."""
    assert requester.token.allowance(requester.me, requester.address) == 0
    posted = requester.post_job(SPEC, pay=PayWith.PERMIT)
    assert posted.payment.method == PayWith.PERMIT and posted.payment.approval is None
    return posted.tx.gas_used


def _account_for(address: str) -> LocalAccount:
    return dev_account(DEV_ADDRESSES.index(address))


def measure() -> dict[str, object]:
    with AnvilProcess() as node:
        rpc = node.rpc()
        chain = DevChain(rpc)
        deployment = deploy_market(rpc, dev_account(0), config=DEFAULT_CONFIG, save_dir=None)
        market = MarketClient(rpc, deployment, account=dev_account(0))
        for address in DEV_ADDRESSES[1:]:
            market.token.transfer(address, tokens(10_000))
        requester = market.with_account(dev_account(1))
        provider = market.with_account(dev_account(2))
        setup = {
            "register_provider": provider.register_provider(
                Capabilities(1, 8192, 1, 8, 16384, tokens(1))
            ).tx.gas_used,
            "stake": provider.stake(tokens(1_000)).tx.gas_used,
        }
        for index in range(4, 9):
            validator = market.with_account(dev_account(index))
            validator.stake(tokens(200))
            setup["register_validator"] = validator.register_validator().tx.gas_used

        requester.token.approve(market.address, STANDING_ALLOWANCE)
        first = run_jobs(chain, market, requester, provider)
        steady = run_jobs(chain, market, requester, provider)
        setup["withdraw"] = provider.withdraw().tx.gas_used

        permits = [post_with_permit(market.with_account(dev_account(3))) for _ in range(2)]
        steady["post_job_with_permit"] = permits[1]
        first["post_job_with_permit"] = permits[0]

    figures: dict[str, object] = dict(steady)
    figures.update({f"first_{k}": v for k, v in first.items()})
    figures.update(setup)
    figures["targets"] = TARGETS
    figures["within_targets"] = {k: int(steady[k]) <= limit for k, limit in TARGETS.items()}
    figures["note"] = (
        "steady state = the second job by the same accounts; first_* = the first job after deployment; "
        "lifecycle_total = post + claim + submit + finalize of a job without a committee (mode None); "
        "verified_job_total = the same four calls for a committee of 3, finalize carrying 3 signed "
        "approving seats; "
        "vote_per_seat = (finalize with 3 seats - finalize with 1 seat) / 2; "
        "post_job_with_permit = postJobWithPermit with no allowance, first_* its first permit by that account"
    )
    return figures


def steady_within(figures: dict[str, object], key: str) -> bool:
    value = figures[key]
    return isinstance(value, int) and value <= TARGETS[key]


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    figures = measure()
    print(f"{'step':<26}{'first job':>12}{'steady':>12}")
    keys = (*STEPS, *VERIFIED_STEPS, "verified_job_total", "single_seat_finalize", "vote_per_seat")
    for key in (*keys, "post_job_with_permit"):
        print(f"{key:<26}{figures[f'first_{key}']:>12,}{figures[key]:>12,}")
    for key, limit in TARGETS.items():
        within = steady_within(figures, key)
        verdict = "within" if within else "OVER"
        print(f"target {key} <= {limit:,}: {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
