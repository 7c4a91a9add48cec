"""What attacking the protocol pays, measured against the real contracts on a fresh anvil, at the default
parameters; writes bench/results/economics.json.

Every job below is posted, claimed and submitted on chain; every committee is the one `committee_of` reads
(the roster snapshot taken at submission, the seed from the hash of the block after it); every token figure
is read from balances and stakes on chain.

(a) capture_stake_share: the share of validator stake an attacker needs to hold a majority of a committee of
    3 with probability >= 50 %. 64 honest validators stake equally; an attacker's stake is raised step by
    step (one account, then the same stake split over five sybil accounts); at each step `--jobs` jobs of
    committee 3 are submitted and their committees read. The measured share of jobs whose majority the
    attacker holds is set beside the binomial P(X >= 2), X ~ Bin(3, p), and the share where it crosses 50 %
    is interpolated. Then real finalizes at the sybils' last step: the attacker's seats reject an honest
    result that the honest seats approve, blind (with every seat it holds) and informed (only where it holds
    a majority: the committee is public once the seed block is mined, before anyone signs). Its gain per
    attempt is read from its stake and balance.
(b) max_cheat_ev: a provider that skips a share s of the segments of the default job (examples/digits_mlp:
    1000 segments, 5 samples per validator, committee 3; the requester library's budget 10, validator fee 1,
    collateral max(5, 10 % of the budget)). The compute is taken to cost the whole budget (worst case). An
    honest seat rejects iff a segment its holder samples (`jobs.sampling.sample_indices` on the job's real
    seed; a holder of two seats draws one sample and votes both alike, as `validator/` does) was skipped; the
    job is rejected iff a strict majority of seats rejects. P(caught) is exact per real seed (inclusion-
    exclusion over the holders, the skipped set uniform), checked by playing one fixed skipped set against
    every seed. EV relative to honest work = s * budget - P(caught) * (budget + reward + collateral).
(c) self_deal_ev: a requester and a provider of one owner run real jobs through claim, submit and finalize
    over budgets, modes (None; Segments with committees of 1 and 3) and validator fees, while the pair owns
    none, half or all of the validator stake (its validators approve: the work is done). Its position is
    wallets + market balances + owed rewards + stake + unbonding; the figure is its change per job.
    `self_deal_capture_ev` (nobody appeals): the same pair with half the stake, its validators rejecting
    its own job (budget 1000) whenever they hold 2 of the 3 seats (the honest seat's bond, budget / 2 up
    to its stake, is then theirs), every round-0 decision final.
    `self_deal_capture_ev_with_appeals` (tokens per job by the pair's share of the validator stake: 1/3,
    0.45 and 0.5): the same capture where the honest seat's holder, whose vote lost round 0, appeals as
    the validator daemon does by default (when the appeal bond, 31 fees, is at most its round-0 seat bond;
    where it is not, the declined appeal is recorded), on a deployment of its own per share with 3 honest
    validators of 1000 tokens (the roster above) and, in `..._12_honest`, 12 (stake ample for the seat
    bonds the appeal rounds lock). Round 1's 31 seats are drawn and signed on chain, honest seats
    approving, the pair's rejecting; an honest seat that loses round 1 appeals again only as the daemon
    would (193 fees against a round-1 seat bond of budget / 16: it does not); a pair that loses round 1
    appeals to the final round's 193 seats when that raises its expected position
    (`AppealTerms.pair_appeals_round_1`, analytic: the binomial chance of a majority of 193 at its share),
    and that round is then played on chain too. Votes count only where their holders' free stake backs
    them (`SeatUnbacked` events are counted). Beside each measured mean: its standard error, and
    `appealed_capture_ev`, the analytic figure (binomial seat counts, backing ignored).

Goals are reported, not asserted. Figures are in tokens (1 token = 10^18 base units); gas is not counted.

    .venv/bin/python bench/economics.py [--jobs 240] [--output PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain import (
    DEFAULT_CONFIG,
    FINAL_ROUND,
    AnvilProcess,
    Capabilities,
    DevChain,
    JobId,
    JobSpec,
    MarketClient,
    Outcome,
    PayWith,
    ResultCommitment,
    Rpc,
    TxSender,
    VerificationMode,
    Wei,
    appeal_window,
    deploy_market,
    dev_account,
    min_collateral_for,
    reward_for,
    round_seats,
    seat_bond,
    settle_block,
    tokens,
)
from chain.roster import Roster
from chain.votes import SignedVote, holders
from jobs.sampling import detection_bound, sample_indices

log = logging.getLogger("bench.economics")

Vote = Callable[[str, Sequence[str]], bool]  # (holder, the job's committee) -> approve?

RESULTS = Path(__file__).resolve().parent / "results" / "economics.json"
TOKEN = 10**18
GOALS = {
    "capture_stake_share": ">= 0.45",
    "max_cheat_ev": "< 0",
    "max_cheat_ev_any_skip": "< 0",
    "self_deal_ev": "< 0",
}

# The default job: the requester library's amounts (crowdcompute/requester/spec.py) and the digits example's
# schedule (examples/digits_mlp/job.toml, the job `make demo` runs, there with a shortened schedule).
BUDGET = tokens(10)
VALIDATOR_FEE = tokens(1)
DEFAULT_COLLATERAL = tokens(5)
COMMITTEE = 3
SAMPLES = 5
SEGMENTS = 1000
OTHER_SCHEDULES = {"demo (40 segments)": 40, "lstm_series (200 segments)": 200}

HONEST_VALIDATORS = 64  # few committees with a repeated holder (a repeat decides two seats alone)
HONEST_STAKE = tokens(1_000)
SHARES = (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60)
SYBIL_ACCOUNTS = 5
SYBIL_SHARES = (0.45, 0.50)
FINALIZED_ATTEMPTS = 24
SKIP_SHARES = (0.01, 0.02, 0.05, 0.10, 0.20, 0.50, 1.00)

SELF_DEAL_BUDGETS = (tokens(1), tokens(10), tokens(1_000), tokens(100_000))
SELF_DEAL_FEES = (0, tokens(1))
CAPTURE_BUDGET = tokens(1_000)
CAPTURE_JOBS = 24
APPEAL_SHARES = (1 / 3, 0.45, 0.5)  # the protocol assumes an honest stake majority; 0.5 for comparison
APPEAL_ROSTERS = (3, 12)  # honest validators of HONEST_STAKE: the roster above, and one where stake is ample
APPEAL_JOBS = 96  # per share and roster
APPEAL_KEYS = {  # the top-level figure of each roster: tokens per job by share
    n: "self_deal_capture_ev_with_appeals" + ("" if i == 0 else f"_{n}_honest")
    for i, n in enumerate(APPEAL_ROSTERS)
}
GOALS.update({key: "< 0 at pair shares below 0.5" for key in APPEAL_KEYS.values()})
CHUNK = 60  # jobs per batch: their seed blocks stay within the 256 readable block hashes
GAS = {"postJob": 400_000, "claimJob": 300_000, "submitResult": 300_000}


# ----- pure parts (tests/bench/test_economics.py) -----------------------------------------------------------


def majority_probability(share: float, size: int = COMMITTEE) -> float:
    """P(a holder of `share` of the stake takes a strict majority of `size` seats drawn by stake with
    replacement): P(X > size / 2), X ~ Bin(size, share)."""
    need = size // 2 + 1
    return sum(math.comb(size, k) * share**k * (1 - share) ** (size - k) for k in range(need, size + 1))


def capture_share(target: float = 0.5, size: int = COMMITTEE) -> float:
    """The stake share at which `majority_probability` reaches `target` (bisection; it is increasing)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if majority_probability(middle, size) < target else (low, middle)
    return (low + high) / 2


def crossing(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """The x where the piecewise-linear curve through `points` (sorted by x) first reaches `target`."""
    if points and points[0][1] >= target:
        return points[0][0]
    for (x0, y0), (x1, y1) in pairwise(points):
        if y0 < target <= y1:
            return x0 + (target - y0) * (x1 - x0) / (y1 - y0)
    return None


def cheat_ev(skip: float, caught: float, budget: float, reward: float, collateral: float) -> float:
    """A provider's expected profit per job from skipping `skip` of the work, relative to doing it all, when
    the compute costs the whole budget: the compute saved less what a rejection takes (the collateral, and the
    budget and reward it would have been paid)."""
    return skip * budget - caught * (budget + reward + collateral)


def caught_probability(
    samples: dict[str, frozenset[int]],
    seats: Sequence[str],
    population: int,
    skipped: int,
    need: int | None = None,
) -> float:
    """P(at least `need` of `seats` reject; default a strict majority) when `skipped` of `population`
    segments, chosen uniformly, were skipped and each seat's holder (one sample per holder, however many
    seats it holds) rejects iff its sample holds a skipped one. Exact: inclusion-exclusion over which
    holders catch it."""
    need = len(seats) // 2 + 1 if need is None else need
    names = sorted(samples)
    weight = Counter(seats)
    total = math.comb(population, skipped)

    def all_miss(group: Sequence[str]) -> float:
        covered = len(frozenset().union(*(samples[h] for h in group))) if group else 0
        return math.comb(population - covered, skipped) / total

    caught = 0.0
    for mask in range(1 << len(names)):
        catchers = [h for i, h in enumerate(names) if mask >> i & 1]
        if sum(weight[h] for h in catchers) < need:
            continue
        others = [h for h in names if h not in catchers]
        exactly = 0.0
        for sub in range(1 << len(catchers)):
            missing = [h for i, h in enumerate(catchers) if sub >> i & 1]
            exactly += (-1) ** len(missing) * all_miss(others + missing)
        caught += exactly
    return min(1.0, max(0.0, caught))


def informed_capture_ev(share: float, bond: float, size: int = COMMITTEE) -> float:
    """Expected bonds a coalition with `share` of the stake takes per job when it rejects only the committees
    where it holds a majority but not every seat (each honest seat there loses `bond`), and approves
    otherwise."""
    need = size // 2 + 1
    return sum(
        math.comb(size, k) * share**k * (1 - share) ** (size - k) * (size - k) * bond
        for k in range(need, size)
    )


def binomial_pmf(size: int, share: float) -> list[float]:
    """P(X = k) for k = 0..size, X ~ Bin(size, share): the seats a holder of `share` of the stake draws."""
    return [math.comb(size, k) * share**k * (1 - share) ** (size - k) for k in range(size + 1)]


def daemon_appeals(appeal_bond: int, seat_bond: int, max_appeal_bond: int | None = None) -> bool:
    """Whether an honest validator daemon appeals a round its vote lost (`validator/ballot.py`): when the bond
    is at most `max_appeal_bond`; by default (None) the seat bond it stands to lose in that round; 0 never."""
    if max_appeal_bond == 0:
        return False
    return appeal_bond <= (seat_bond if max_appeal_bond is None else max_appeal_bond)


@dataclass(frozen=True)
class AppealTerms:
    """What a self-dealing pair's captured job with appeals moves, in tokens: each round's seat bond
    (`seat_bond`: 3, 31, 193 seats), the appeal bonds into rounds 1 and 2, what the pair nets when its job is
    accepted (`reward - protocol fee`) and the validator fee. The pair's seats always reject; the honest ones
    approve (the result is right)."""

    bonds: tuple[float, float, float]
    appeal_bonds: tuple[float, float]
    net_reward: float
    validator_fee: float
    seats: tuple[int, int, int] = (COMMITTEE, 31, 193)

    def accepted(self, honest_seats: int) -> float:
        """The pair's gain when its job is accepted in round 0: it pays the honest seats' fees."""
        return self.net_reward - honest_seats * self.validator_fee

    def won_round_1(self, pair_seats: int) -> float:
        """Round 1 rejects and nobody appeals: the honest round-0 seat's bond, the honest round-1 seats' bonds
        and the honest appellant's bond are the pair's (rejection refunds its budget and fee; round 0's fees
        for the pair's seats come from its own escrow)."""
        b0, b1, _ = self.bonds
        return b0 + (self.seats[1] - pair_seats) * b1 + self.appeal_bonds[0]

    def lost_round_1(self, pair_seats: int) -> float:
        """Round 1 accepts and the pair does not appeal: paid `net_reward` less the honest round-0 seat's fee;
        its two round-0 seats and its `pair_seats` round-1 seats lose their bonds (the honest appellant gets
        its bond back)."""
        b0, b1, _ = self.bonds
        return self.accepted(1) - 2 * b0 - pair_seats * b1

    def round_2_appeal_value(self, share: float, pair_seats: int) -> float:
        """Analytic: the pair's expected gain if it appeals the round 1 it lost with `pair_seats` seats, the
        final round's 193 seats drawn by stake (Y ~ Bin(193, share) of them the pair's) and decided by a
        strict majority, backing ignored. Won: every honest seat's bond of the three rounds and the honest
        round-0 appeal bond, its own bond back; lost: `lost_round_1` less its round-2 seats' bonds and its
        appeal bond."""
        b2, n2 = self.bonds[2], self.seats[2]
        need = n2 // 2 + 1
        total = 0.0
        for y, chance in enumerate(binomial_pmf(n2, share)):
            if y >= need:
                gain = self.won_round_1(pair_seats) + (n2 - y) * b2
            else:
                gain = self.lost_round_1(pair_seats) - y * b2 - self.appeal_bonds[1]
            total += chance * gain
        return total

    def pair_appeals_round_1(self, share: float, pair_seats: int) -> bool:
        """The pair's best response to losing round 1: appeal to the final round iff that raises its expected
        position."""
        return self.round_2_appeal_value(share, pair_seats) > self.lost_round_1(pair_seats)


def appealed_capture_ev(share: float, terms: AppealTerms, honest_appeals: bool = True) -> float:
    """Analytic: the pair's expected gain per job of informed capture (reject with 2 of the 3 seats, approve
    otherwise) when the honest seat that lost round 0 appeals (`honest_appeals`; False: `capture_pair_ev`),
    round 1's 31 seats are drawn by stake and decided by a strict majority (pair seats reject, honest ones
    approve), honest seats that lose round 1 do not appeal again (the daemon's default at these amounts: 193
    fees against a round-1 seat bond of budget / 16) and the pair appeals a lost round 1 only when
    `pair_appeals_round_1`. Backing (a vote counts only when its holder's free stake locks its bond) is
    ignored."""
    p = binomial_pmf(COMMITTEE, share)
    n1 = terms.seats[1]
    need = n1 // 2 + 1
    if honest_appeals:
        captured = 0.0
        for x, chance in enumerate(binomial_pmf(n1, share)):
            if x >= need:
                captured += chance * terms.won_round_1(x)
            else:
                captured += chance * max(terms.lost_round_1(x), terms.round_2_appeal_value(share, x))
    else:
        captured = terms.bonds[0]
    return p[3] * terms.accepted(0) + p[2] * captured + p[1] * terms.accepted(2) + p[0] * terms.accepted(3)


# ----- the chain -------------------------------------------------------------------------------------------


def as_tokens(amount: int) -> float:
    return amount / TOKEN


class Bench:
    """One anvil, a market deployed by dev account 0 (the treasury), and fresh funded accounts."""

    def __init__(self, rpc: Rpc) -> None:
        self.rpc = rpc
        self.chain = DevChain(rpc)
        self.sender = TxSender(rpc, poll_interval=0.005)
        self.treasury = dev_account(0)
        self.market = self.deploy()
        self._rosters: dict[bytes, Roster] = {}
        self.keys: dict[str, LocalAccount] = {}  # validators' keys, to sign their votes

    def deploy(self) -> MarketClient:
        deployment = deploy_market(self.rpc, self.treasury, config=DEFAULT_CONFIG, save_dir=None)
        self._rosters = {}
        return MarketClient(self.rpc, deployment, sender=self.sender, account=self.treasury)

    def client(self, account: LocalAccount) -> MarketClient:
        return self.market.with_account(account)

    def new_account(self, funding: int) -> LocalAccount:
        """A fresh key (never written anywhere) with gas money and `funding` tokens from the treasury."""
        account: LocalAccount = EthAccount.create()
        self.chain.set_balance(account.address, 10**22)
        if funding:
            self.market.token.transfer(account.address, funding)
        return account

    def validator(self, stake: int) -> LocalAccount:
        account = self.new_account(stake)
        client = self.client(account)
        client.token.approve(self.market.address, 2**96 - 1)
        client.stake(stake, pay=PayWith.ALLOWANCE)
        client.register_validator()
        self.keys[account.address] = account
        return account

    def stake_to(self, account: LocalAccount, target: int) -> None:
        """Top `account`'s stake up to `target` tokens' worth (validators only ever grow here)."""
        client = self.client(account)
        missing = target - client.account_of().stake
        if missing > 0:
            self.market.token.transfer(account.address, missing)
            client.stake(missing, pay=PayWith.ALLOWANCE)

    def pair(self, provider_stake: int, requester_funds: int) -> tuple[MarketClient, MarketClient]:
        requester = self.client(self.new_account(requester_funds))
        requester.token.approve(self.market.address, 2**96 - 1)
        provider = self.client(self.new_account(provider_stake))
        provider.register_provider(Capabilities(1, 8192, 1, 8, 16384, tokens(1)))
        provider.token.approve(self.market.address, 2**96 - 1)
        provider.stake(provider_stake, pay=PayWith.ALLOWANCE)
        return requester, provider

    def _bulk(self, client: MarketClient, function: str, calls: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Send every call before waiting for any (the sender keeps nonces), then apply their events."""
        fn = client.codec.function(function)
        pending = [
            self.sender.send(client.signer, client.address, fn.encode(*args), gas=GAS[function])
            for args in calls
        ]
        events = []
        for tx in pending:
            decoded = client.decode_events(self.sender.wait(tx))
            client.jobs.apply(decoded)
            events.append(decoded)
        return events

    def submit_jobs(
        self,
        requester: MarketClient,
        provider: MarketClient,
        spec: JobSpec,
        count: int,
        result: ResultCommitment,
    ) -> list[JobId]:
        """`count` jobs posted, claimed and submitted, with their seed blocks mined (committees readable)."""
        spec = spec.with_protocol_fee(DEFAULT_CONFIG.fee_bps)
        posted = self._bulk(requester, "postJob", [(spec.to_abi(),)] * count)
        ids = [JobId(next(e for e in ev if e.name == "JobPosted").args["jobId"]) for ev in posted]
        jobs = self.market.jobs
        self._bulk(provider, "claimJob", [(i, jobs.job(i).to_abi()) for i in ids])
        commit = (result.result_digest, result.result_codec, result.checkpoint_root, result.checkpoint_count)
        self._bulk(provider, "submitResult", [(i, jobs.job(i).to_abi(), *commit) for i in ids])
        self.chain.mine(2)  # the last submission's seed block, and one more so its hash is readable
        return ids

    def committee(self, job_id: JobId) -> list[ChecksumAddress]:
        return self.seed_and_committee(job_id)[1]

    def seed_and_committee(self, job_id: JobId) -> tuple[bytes, list[ChecksumAddress]]:
        """The on-chain seed and `MarketClient.committee_of`, the roster snapshot rebuilt once per root."""
        job = self.market.jobs.job(job_id)
        root, size = job.state.roster_root, job.spec.committee_size
        seed = bytes(self.market.seed_of(job_id))
        roster = self._rosters.get(root)
        if roster is None:
            roster = self._rosters[root] = self.market.roster_of(job_id)
            assert list(holders(roster, seed, size)) == self.market.committee_of(job_id)
        return seed, [to_checksum_address(h) for h in holders(roster, seed, size)]

    def position(self, accounts: Sequence[str]) -> int:
        """Everything `accounts` own in tokens: wallets, market balances, owed rewards, stake, unbonding."""
        total = 0
        for address in accounts:
            account = self.market.account_of(address)
            total += self.market.token.balance_of(address) + account.balance + account.reward_owed
            total += account.stake + account.unbonding
        return total

    def finalize(self, job_id: JobId, approve: Vote) -> Any:
        """Finalize with every seat's holder signing `approve(holder, committee)`."""
        committee = self.committee(job_id)
        votes: list[SignedVote] = [
            self.client(self.keys[holder]).sign_vote(job_id, seat, approve(holder, committee))
            for seat, holder in enumerate(committee)
        ]
        job = self.market.jobs.job(job_id)
        # past the vote window and the appeal window (nobody appeals here)
        self.chain.mine_until(settle_block(job.state.submit_block, job.spec.verify_blocks, job.state.round))
        return self.market.finalize(job_id, votes)


def default_spec(**changes: Any) -> JobSpec:
    base = JobSpec(
        budget=BUDGET,
        bundle_digest=b"\x22" * 32,
        bundle_codec=0x55,
        mode=VerificationMode.SEGMENTS,
        collateral=Wei(
            max(DEFAULT_COLLATERAL, min_collateral_for(BUDGET, DEFAULT_CONFIG.min_collateral_bps))
        ),
        run_timeout=3600,
        cpu_cores=1,
        memory_mib=1024,
        committee_size=COMMITTEE,
        samples_per_validator=SAMPLES,
        verify_blocks=20,
        validator_fee=VALIDATOR_FEE,
        reopen_on_failure=False,
    )
    return dataclasses.replace(base, **changes)


RESULT = ResultCommitment(
    result_digest=b"\x33" * 32, checkpoint_root=b"\x44" * 32, checkpoint_count=SEGMENTS + 1
)


# ----- (a) committee capture -------------------------------------------------------------------------------


@dataclass
class Draws:
    """Committees read from the chain, with the attacker's accounts."""

    label: str
    share: float
    attackers: frozenset[str]
    committees: list[tuple[JobId, bytes, list[ChecksumAddress]]]

    def majorities(self) -> int:
        return sum(sum(h in self.attackers for h in c) * 2 > len(c) for _, _, c in self.committees)

    def seats(self) -> Counter[int]:
        return Counter(sum(h in self.attackers for h in c) for _, _, c in self.committees)


def draw(bench: Bench, requester: MarketClient, provider: MarketClient, count: int) -> list[Any]:
    out = []
    spec = default_spec()
    for start in range(0, count, CHUNK):
        for job_id in bench.submit_jobs(requester, provider, spec, min(CHUNK, count - start), RESULT):
            out.append((job_id, *bench.seed_and_committee(job_id)))
    return out


def live_share(bench: Bench, attackers: Sequence[LocalAccount], honest: Sequence[LocalAccount]) -> float:
    attack = sum(bench.market.account_of(a.address).stake for a in attackers)
    rest = sum(bench.market.account_of(a.address).stake for a in honest)
    return attack / (attack + rest)


def capture(bench: Bench, jobs: int) -> tuple[dict[str, Any], list[Draws]]:
    requester, provider = bench.pair(tokens(1_000_000), tokens(1_000_000))
    honest = [bench.validator(HONEST_STAKE) for _ in range(HONEST_VALIDATORS)]
    honest_total = HONEST_STAKE * HONEST_VALIDATORS
    runs: list[Draws] = []

    baseline = Draws("honest only", 0.0, frozenset(), draw(bench, requester, provider, jobs))
    runs.append(baseline)
    whale = bench.validator(tokens(100))
    for share in SHARES:
        bench.stake_to(whale, int(honest_total * share / (1 - share)))
        measured = live_share(bench, [whale], honest)
        runs.append(
            Draws("1 account", measured, frozenset({whale.address}), draw(bench, requester, provider, jobs))
        )
        log.info("share %.3f: %d/%d majorities", measured, runs[-1].majorities(), jobs)
    # The same stake split over sybils: the whale leaves the roster (all its stake unbonding).
    bench.client(whale).request_unbond(bench.market.account_of(whale.address).stake)
    sybils = [bench.validator(tokens(100)) for _ in range(SYBIL_ACCOUNTS)]
    for share in SYBIL_SHARES:
        each = int(honest_total * share / (1 - share)) // SYBIL_ACCOUNTS
        for account in sybils:
            bench.stake_to(account, each)
        measured = live_share(bench, sybils, honest)
        addresses = frozenset(a.address for a in sybils)
        label = f"{SYBIL_ACCOUNTS} sybils"
        runs.append(Draws(label, measured, addresses, draw(bench, requester, provider, jobs)))

    curve = sorted(
        (r.share, r.majorities() / len(r.committees)) for r in runs if r.label != f"{SYBIL_ACCOUNTS} sybils"
    )
    measured_share = crossing(curve, 0.5)
    attempts = finalized_attempts(bench, requester, provider, sybils, honest)
    bond = max(DEFAULT_CONFIG.validator_slash, BUDGET // ((COMMITTEE + 1) // 2))
    figures = {
        "capture_stake_share": round(measured_share, 4) if measured_share is not None else None,
        "capture_stake_share_analytic": round(capture_share(0.5), 4),
        "honest_validators": HONEST_VALIDATORS,
        "honest_stake_each_tokens": as_tokens(HONEST_STAKE),
        "jobs_per_point": jobs,
        "curve": [
            {
                "attacker": r.label,
                "share": round(r.share, 4),
                "jobs": len(r.committees),
                "majorities": r.majorities(),
                "measured": round(r.majorities() / len(r.committees), 4),
                "analytic": round(majority_probability(r.share), 4),
                "std_error": round(
                    math.sqrt(
                        max(majority_probability(r.share) * (1 - majority_probability(r.share)), 1e-12)
                        / len(r.committees)
                    ),
                    4,
                ),
                "seats_held": {str(k): v for k, v in sorted(r.seats().items())},
            }
            for r in runs
        ],
        "attempts": attempts,
        "blind_attack_ev_tokens_by_share": {
            f"{share:g}": round(blind_attack_ev(share, as_tokens(bond), as_tokens(VALIDATOR_FEE)), 4)
            for share in (0.1, 0.2, 0.3, 0.4, 0.45, 0.5)
        },
        "informed_attack_ev_tokens_by_share": {
            f"{share:g}": round(
                informed_capture_ev(share, as_tokens(bond))
                + sum(math.comb(3, k) * share**k * (1 - share) ** (3 - k) * k for k in range(1, 4))
                * as_tokens(VALIDATOR_FEE),
                4,
            )
            for share in (0.1, 0.2, 0.3, 0.4, 0.45, 0.5)
        },
        "seat_bond_tokens": as_tokens(bond),
    }
    return figures, runs


def finalized_attempts(
    bench: Bench,
    requester: MarketClient,
    provider: MarketClient,
    attackers: Sequence[LocalAccount],
    honest: Sequence[LocalAccount],
) -> dict[str, Any]:
    """Real finalizes at the sybils' last share: honest seats approve the (honest) result, the attacker's
    reject, blind (every seat it holds) or informed (only where it holds a majority). Gains are read from its
    stake and balance."""
    own = frozenset(a.address for a in attackers)
    out: dict[str, Any] = {"share": round(live_share(bench, attackers, honest), 4)}
    for strategy in ("blind", "informed"):
        rows: list[dict[str, Any]] = []
        ids = bench.submit_jobs(requester, provider, default_spec(), FINALIZED_ATTEMPTS, RESULT)
        for job_id in ids:
            committee = bench.committee(job_id)
            held = sum(h in own for h in committee)
            attack = strategy == "blind" or held * 2 > len(committee)
            before = bench.position(list(own))

            def vote(holder: str, _committee: Sequence[str], attack: bool = attack) -> bool:
                return not (attack and holder in own)

            done = bench.finalize(job_id, vote)
            rows.append(
                {"held": held, "outcome": done.outcome.name, "gain": bench.position(list(own)) - before}
            )
        minority = [r["gain"] for r in rows if r["held"] == 1]
        majority = [r["gain"] for r in rows if r["held"] >= 2]
        out[strategy] = {
            "attempts": len(rows),
            "rejected": sum(r["outcome"] == "REJECTED" for r in rows),
            "held_1_of_3": len(minority),
            "held_2_or_3": len(majority),
            "gain_per_attempt_tokens": round(as_tokens(sum(r["gain"] for r in rows)) / len(rows), 4),
            "gain_when_minority_tokens": sorted({round(as_tokens(g), 4) for g in minority}),
            "gain_when_majority_tokens": sorted({round(as_tokens(g), 4) for g in majority}),
        }
        for account in honest:  # honest validators top their slashed stake back up: the same roster next time
            bench.stake_to(account, HONEST_STAKE)
    return out


# ----- (b) skipping work -----------------------------------------------------------------------------------


def cheating(draws: Sequence[Draws]) -> dict[str, Any]:
    """P(caught) over the real seeds and committees of the honest-only jobs; the cheat's EV per skip share."""
    jobs = draws[0].committees
    collateral = max(DEFAULT_COLLATERAL, min_collateral_for(BUDGET, DEFAULT_CONFIG.min_collateral_bps))
    reward = reward_for(BUDGET, DEFAULT_CONFIG.reward_bps)
    rng = random.Random(2026)

    def per_seed(population: int) -> list[tuple[dict[str, frozenset[int]], list[ChecksumAddress]]]:
        return [
            ({h: frozenset(sample_indices(seed, job_id, h, SAMPLES, population)) for h in set(c)}, c)
            for job_id, seed, c in jobs
        ]

    def caught(seeds: list[Any], population: int, skipped: int, need: int | None = None) -> float:
        return sum(caught_probability(s, c, population, skipped, need) for s, c in seeds) / len(seeds)

    def ev(share: float, p: float) -> float:
        """As a fraction of the budget."""
        return cheat_ev(share, p, 1.0, reward / BUDGET, collateral / BUDGET)

    seeds = per_seed(SEGMENTS)
    rows = []
    for share in SKIP_SHARES:
        skipped = round(share * SEGMENTS)
        p = caught(seeds, SEGMENTS, skipped)
        fixed = frozenset(rng.sample(range(SEGMENTS), skipped))  # one skipped set, played against every seed
        played = sum(sum(bool(s[h] & fixed) for h in c) * 2 > len(c) for s, c in seeds) / len(seeds)
        gain = cheat_ev(share, p, as_tokens(BUDGET), as_tokens(reward), as_tokens(collateral))
        rows.append(
            {
                "skip": share,
                "p_caught": round(p, 5),
                "p_caught_one_fixed_set": round(played, 4),
                "p_caught_distinct_seats": round(detection_bound(SEGMENTS, skipped, SAMPLES, COMMITTEE), 5),
                "ev_tokens": round(gain, 4),
                "ev_fraction_of_budget": round(gain / as_tokens(BUDGET), 5),
            }
        )
    fine, distinct, one_finding = [], [], []
    for skipped in range(1, 51):  # 0.1 % .. 5 %: where the sign changes
        share = skipped / SEGMENTS
        fine.append((share, ev(share, caught(seeds, SEGMENTS, skipped))))
        distinct.append((share, ev(share, detection_bound(SEGMENTS, skipped, SAMPLES, COMMITTEE))))
        one_finding.append((share, ev(share, caught(seeds, SEGMENTS, skipped, need=1))))
    best = max(fine, key=lambda row: row[1])
    paying = [s for s, ev in fine if ev >= 0]
    others: dict[str, dict[str, float]] = {}
    for name, population in OTHER_SCHEDULES.items():
        other = per_seed(population)
        others[name] = {}
        for share in SKIP_SHARES:
            skipped = max(1, round(share * population))  # a whole segment at least
            others[name][f"{skipped / population:g}"] = round(
                ev(skipped / population, caught(other, population, skipped)), 5
            )
    repeats = sum(len(set(c)) < len(c) for _, _, c in jobs) / len(jobs)
    return {
        "max_cheat_ev": max(r["ev_fraction_of_budget"] for r in rows),
        "max_cheat_ev_skip": max(rows, key=lambda r: r["ev_fraction_of_budget"])["skip"],
        "sup_cheat_ev_fine_grid": round(best[1], 5),
        "sup_cheat_ev_skip": best[0],
        "max_cheat_ev_any_skip": round(max(best[1], max(r["ev_fraction_of_budget"] for r in rows)), 5),
        "cheating_pays_up_to_skip": max(paying) if paying else 0.0,
        "sup_cheat_ev_distinct_seats": [round(x, 5) for x in max(distinct, key=lambda row: row[1])],
        "sup_cheat_ev_if_one_finding_rejects": [
            round(x, 5) for x in max(one_finding, key=lambda row: row[1])
        ],
        "smallest_listed_skip_not_paying": min(
            (r["skip"] for r in rows if r["ev_fraction_of_budget"] < 0), default=None
        ),
        "rows": rows,
        "ev_fraction_other_schedules": others,
        "job": {
            "budget_tokens": as_tokens(BUDGET),
            "reward_tokens": as_tokens(reward),
            "collateral_tokens": as_tokens(collateral),
            "committee_size": COMMITTEE,
            "samples_per_validator": SAMPLES,
            "segments": SEGMENTS,
            "compute_cost": "the whole budget",
        },
        "seeds": len(jobs),
        "committees_with_a_repeated_holder": round(repeats, 4),
    }


# ----- (c) self-dealing ------------------------------------------------------------------------------------


def protocol_fee(budget: int) -> int:
    return -(-budget * DEFAULT_CONFIG.fee_bps // 10_000)


def blind_attack_ev(share: float, bond: float, fee: float, size: int = COMMITTEE) -> float:
    """Expected gain per job of an attacker that rejects an honest result with every seat it holds: a minority
    loses its seats' bonds; a majority earns its seats' fees and the honest seats' bonds."""
    need = size // 2 + 1
    gain = 0.0
    for k in range(1, size + 1):
        chance = math.comb(size, k) * share**k * (1 - share) ** (size - k)
        gain += chance * (k * fee + (size - k) * bond if k >= need else -k * bond)
    return gain


def capture_pair_ev(share: float, bond: float, reward: float, fee: float, validator_fee: float) -> float:
    """A self-dealing pair with `share` of the validator stake, playing informed capture on its own job of
    committee 3: with 2 seats it rejects (the honest seat's `bond` is its), with 3 it approves (reward - fee),
    with fewer it approves and also pays the honest seats' fees."""
    p = [math.comb(3, k) * share**k * (1 - share) ** (3 - k) for k in range(4)]
    accepted = [reward - fee - (3 - k) * validator_fee for k in range(4)]
    return p[3] * accepted[3] + p[2] * bond + p[1] * accepted[1] + p[0] * accepted[0]


def self_dealing(bench: Bench) -> dict[str, Any]:
    """Real jobs between a requester and a provider of one owner, on a deployment of their own."""
    bench.market = bench.deploy()
    requester, provider = bench.pair(tokens(200_000), tokens(2_000_000))
    honest = [bench.validator(HONEST_STAKE) for _ in range(3)]
    pair_validators: list[LocalAccount] = []
    cases: list[dict[str, Any]] = []

    def owned() -> list[str]:
        return [requester.me, provider.me, *(v.address for v in pair_validators)]

    def run(spec: JobSpec, approve: Vote) -> tuple[int, Any]:
        """The pair's position after the job less before its post."""
        before = bench.position(owned())
        (job_id,) = bench.submit_jobs(requester, provider, spec, 1, RESULT)
        if spec.mode == VerificationMode.NONE:
            bench.chain.mine(spec.verify_blocks + 2)
            done = provider.finalize(job_id)
        else:
            done = bench.finalize(job_id, approve)
        return bench.position(owned()) - before, done

    def sweep(pair_share: str) -> None:
        for budget in SELF_DEAL_BUDGETS:
            ratio = min_collateral_for(budget, DEFAULT_CONFIG.min_collateral_bps)
            collateral = Wei(max(ratio, 3 * max(SELF_DEAL_FEES)))
            variants: list[tuple[str, JobSpec]] = []
            if pair_share == "none":  # mode None has no committee: who holds the stake does not matter
                none = default_spec(mode=VerificationMode.NONE, committee_size=0, samples_per_validator=0)
                variants.append(("none", dataclasses.replace(none, budget=budget, collateral=collateral)))
            for committee in (1, 3):
                for fee in SELF_DEAL_FEES:
                    spec = default_spec(
                        budget=budget, collateral=collateral, committee_size=committee, validator_fee=fee
                    )
                    variants.append((f"segments/{committee}", spec))
            for mode, spec in variants:
                delta, done = run(spec, lambda _holder, _committee: True)
                cases.append(
                    {
                        "pair_validator_share": pair_share,
                        "mode": mode,
                        "budget_tokens": as_tokens(budget),
                        "validator_fee_tokens": as_tokens(spec.validator_fee),
                        "outcome": done.outcome.name,
                        "delta_tokens": round(as_tokens(delta), 6),
                        "delta_fraction_of_budget": round(delta / budget, 6),
                        "reward_minus_fee_tokens": round(
                            as_tokens(reward_for(budget, DEFAULT_CONFIG.reward_bps) - protocol_fee(budget)), 6
                        ),
                    }
                )

    sweep("none")
    pair_validators += [bench.validator(HONEST_STAKE) for _ in range(3)]
    sweep("half")
    capture_rows = informed_capture(bench, run, pair_validators, honest)
    for account in honest:  # every honest validator leaves: the pair holds every seat
        bench.client(account).request_unbond(bench.market.account_of(account.address).stake)
    sweep("all")

    best = max(cases, key=lambda c: c["delta_tokens"])
    best_fraction = max(cases, key=lambda c: c["delta_fraction_of_budget"])
    return {
        "self_deal_ev": best["delta_tokens"],
        "self_deal_ev_case": best,
        "self_deal_ev_fraction_of_budget": best_fraction["delta_fraction_of_budget"],
        "self_deal_ev_fraction_case": best_fraction,
        "cases": cases,
        "capture": capture_rows,
    }


def informed_capture(
    bench: Bench,
    run: Callable[[JobSpec, Vote], tuple[int, Any]],
    pair_validators: Sequence[LocalAccount],
    honest: Sequence[LocalAccount],
) -> dict[str, Any]:
    """The pair with half the validator stake rejects its own (done) job whenever its validators hold 2 of the
    3 seats (the honest seat approves, loses its bond); otherwise everyone approves. Honest validators top
    their stake back up after each job, so every job sees the same roster."""
    own = frozenset(v.address for v in pair_validators)
    collateral = min_collateral_for(CAPTURE_BUDGET, DEFAULT_CONFIG.min_collateral_bps)
    spec = default_spec(budget=CAPTURE_BUDGET, collateral=collateral)
    share = live_share(bench, pair_validators, honest)

    def vote(holder: str, committee: Sequence[str]) -> bool:
        held = sum(h in own for h in committee)
        return not (holder in own and 2 <= held < len(committee))

    rows = []
    for _ in range(CAPTURE_JOBS):
        delta, done = run(spec, vote)
        rows.append((delta, done.outcome.name))
        for account in honest:
            bench.stake_to(account, HONEST_STAKE)
    bond = max(DEFAULT_CONFIG.validator_slash, CAPTURE_BUDGET // 2)
    expected = capture_pair_ev(
        share,
        as_tokens(min(bond, HONEST_STAKE)),
        as_tokens(reward_for(CAPTURE_BUDGET, DEFAULT_CONFIG.reward_bps)),
        as_tokens(protocol_fee(CAPTURE_BUDGET)),
        as_tokens(spec.validator_fee),
    )
    return {
        "pair_validator_share": round(share, 4),
        "budget_tokens": as_tokens(CAPTURE_BUDGET),
        "seat_bond_tokens": as_tokens(bond),
        "honest_stake_each_tokens": as_tokens(HONEST_STAKE),
        "jobs": len(rows),
        "rejected": sum(o == "REJECTED" for _, o in rows),
        "self_deal_capture_ev_tokens": round(as_tokens(sum(d for d, _ in rows)) / len(rows), 4),
        "analytic_ev_tokens": round(expected, 4),
        "gains_tokens": sorted(Counter(round(as_tokens(d), 4) for d, _ in rows).items()),
    }


def appealed_capture(bench: Bench, share: float, jobs: int, honest_count: int) -> dict[str, Any]:
    """Informed capture of the pair's own job with appeals, on `bench`'s fresh deployment: `honest_count`
    honest validators (`HONEST_STAKE` each) and the pair's validators holding `share` of the validator stake
    (split in as many accounts, up to 3, as can each lock both round-0 seat bonds). Round 0 as in
    `informed_capture`; the honest seat's holder, whose vote lost, appeals when the daemon would
    (`daemon_appeals`; it is given the bond's tokens); round 1's 31 seats are drawn on chain, every honest
    seat approves and every pair seat rejects. Honest seats that lose round 1 appeal again only when the
    daemon would. A pair that loses round 1 appeals to the final round when `AppealTerms.pair_appeals_round_1`
    says that raises its expected position (at its live share and its round-1 seats); round 2's 193 seats are
    then drawn and voted on chain alike. Every vote is signed and revealed by `appeal` or `finalize`,
    where the contract counts only backed ones; the pair's gain is its position after the job less before.
    Between jobs every validator is topped back up to its starting stake."""
    market = bench.market
    requester, provider = bench.pair(tokens(200_000), tokens(2_000_000))
    honest = [bench.validator(HONEST_STAKE) for _ in range(honest_count)]
    slash = DEFAULT_CONFIG.validator_slash
    bonds = tuple(seat_bond(CAPTURE_BUDGET, COMMITTEE, r, slash) for r in range(FINAL_ROUND + 1))
    total = int(HONEST_STAKE * len(honest) * share / (1 - share))
    count = max(1, min(3, total // (2 * bonds[0])))
    pair_validators = [bench.validator(total // count) for _ in range(count)]
    starting = {a.address: market.account_of(a.address).stake for a in [*honest, *pair_validators]}
    own = frozenset(a.address for a in pair_validators)
    owned = [requester.me, provider.me, *own]
    collateral = min_collateral_for(CAPTURE_BUDGET, DEFAULT_CONFIG.min_collateral_bps)
    spec = default_spec(budget=CAPTURE_BUDGET, collateral=collateral)
    live = live_share(bench, pair_validators, honest)
    fee = spec.validator_fee
    terms = AppealTerms(
        bonds=(as_tokens(bonds[0]), as_tokens(bonds[1]), as_tokens(bonds[2])),
        appeal_bonds=(
            as_tokens(max(slash, round_seats(COMMITTEE, 1) * fee)),
            as_tokens(max(slash, round_seats(COMMITTEE, 2) * fee)),
        ),
        net_reward=as_tokens(
            reward_for(CAPTURE_BUDGET, DEFAULT_CONFIG.reward_bps) - protocol_fee(CAPTURE_BUDGET)
        ),
        validator_fee=as_tokens(fee),
    )

    def sign(job_id: JobId, committee: Sequence[str], attack: bool) -> list[SignedVote]:
        return [
            bench.client(bench.keys[holder]).sign_vote(job_id, seat, not (attack and holder in own))
            for seat, holder in enumerate(committee)
        ]

    def unbacked(events: Sequence[Any]) -> Counter[str]:
        return Counter(
            "pair" if e.args["validator"] in own else "honest" for e in events if e.name == "SeatUnbacked"
        )

    rows: list[dict[str, Any]] = []
    for _ in range(jobs):
        before = bench.position(owned)
        (job_id,) = bench.submit_jobs(requester, provider, spec, 1, RESULT)
        committee = market.committee_of(job_id)
        held = sum(h in own for h in committee)
        attack = 2 <= held < len(committee)
        votes = sign(job_id, committee, attack)
        row: dict[str, Any] = {"held": held, "appeals": [], "declined": [], "round_1_pair_seats": None}
        skipped: Counter[str] = Counter()
        while True:
            job = market.jobs.job(job_id)
            round_ = job.state.round
            if not attack or round_ == FINAL_ROUND:
                break
            decided = market.round_decision(job_id, votes)
            bond = market.appeal_bond(job_id)
            appellant: MarketClient | None = None
            if decided != Outcome.ACCEPTED:  # the honest seats lost
                if daemon_appeals(bond, seat_bond(spec.budget, COMMITTEE, round_, slash)):
                    loser = next(h for h in committee if h not in own)
                    market.token.transfer(loser, bond)  # the honest appellant's own tokens, not the pair's
                    appellant = bench.client(bench.keys[loser])
                else:
                    row["declined"].append(f"honest, round {round_}: bond {as_tokens(bond):g}")
            elif round_ >= 1:  # the pair lost an appeal round: its best response
                pair_seats = sum(h in own for h in committee)
                if terms.pair_appeals_round_1(live, pair_seats):
                    appellant = requester
                else:
                    row["declined"].append(f"pair, round {round_}")
            if appellant is None:
                break
            bench.chain.mine_until(appeal_window(job.state.submit_block, spec.verify_blocks)[0] - 1)
            filed = appellant.appeal(job_id, votes, pay=PayWith.ALLOWANCE)
            skipped += unbacked(filed.events)
            row["appeals"].append("pair" if appellant is requester else "honest")
            bench.chain.mine(2)  # the new round's seed block, and one more so its hash is readable
            committee = market.committee_of(job_id)
            if round_ == 0:
                row["round_1_pair_seats"] = sum(h in own for h in committee)
            votes = sign(job_id, committee, attack)
        job = market.jobs.job(job_id)
        bench.chain.mine_until(settle_block(job.state.submit_block, spec.verify_blocks, job.state.round))
        done = market.finalize(job_id, votes)
        skipped += unbacked(done.events)
        row.update(
            rounds=job.state.round + 1,
            outcome=done.outcome.name,
            unbacked=dict(skipped),
            gain=bench.position(owned) - before,
        )
        rows.append(row)
        for account in [*honest, *pair_validators]:
            bench.stake_to(account, starting[account.address])
    gains = [as_tokens(r["gain"]) for r in rows]
    mean = sum(gains) / len(gains)
    spread = math.sqrt(sum((g - mean) ** 2 for g in gains) / max(1, len(gains) - 1) / len(gains))
    appealed = [r for r in rows if r["appeals"]]
    return {
        "honest_validators": honest_count,
        "share": round(share, 4),
        "pair_validator_share": round(live, 4),
        "pair_validator_share_after": round(live_share(bench, pair_validators, honest), 4),
        "pair_validators": count,
        "jobs": len(rows),
        "captured_round_0": sum(r["held"] == 2 for r in rows),
        "honest_appealed_round_0": sum(r["appeals"][:1] == ["honest"] for r in rows),
        "pair_appealed_round_1": sum("pair" in r["appeals"] for r in rows),
        "declined_appeals": dict(Counter(d for r in rows for d in r["declined"])),
        "outcomes_after_appeal": dict(
            Counter(f"{r['rounds'] - 1} appeal(s): {r['outcome']}" for r in appealed)
        ),
        "round_1_pair_seats": sorted(r["round_1_pair_seats"] for r in appealed),
        "unbacked_votes": dict(sum((Counter(r["unbacked"]) for r in rows), Counter())),
        "ev_tokens": round(mean, 4),
        "std_error_tokens": round(spread, 4),
        "analytic_ev_tokens": round(appealed_capture_ev(live, terms), 4),
        "analytic_ev_nobody_appeals_tokens": round(appealed_capture_ev(live, terms, honest_appeals=False), 4),
        "gains_tokens": sorted(Counter(round(g, 4) for g in gains).items()),
    }


def appealed_captures(jobs: int = APPEAL_JOBS) -> list[dict[str, Any]]:
    """`appealed_capture` at every share of `APPEAL_SHARES` on every roster of `APPEAL_ROSTERS`, each on a
    node of its own that keeps no past states (`--prune-history`): anvil slows down as its chain grows, and
    these jobs mine some 40 to 120 blocks each."""
    rows = []
    for honest_count in APPEAL_ROSTERS:
        for share in APPEAL_SHARES:
            with AnvilProcess(extra_args=("--prune-history",)) as node:
                rows.append(appealed_capture(Bench(node.rpc()), share, jobs, honest_count))
            log.info(
                "capture with appeals, %d honest, share %.3f: %+.1f",
                honest_count,
                share,
                rows[-1]["ev_tokens"],
            )
    return rows


def by_share(rows: Sequence[dict[str, Any]], honest_count: int) -> dict[str, float]:
    """The measured gains per job of one roster's rows, keyed by the nominal share."""
    return {f"{r['share']:.4g}": r["ev_tokens"] for r in rows if r["honest_validators"] == honest_count}


# ----- the run ---------------------------------------------------------------------------------------------


def measure(jobs: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    began = time.monotonic()
    with AnvilProcess() as node:
        bench = Bench(node.rpc())
        captured, draws = capture(bench, jobs)
        cheats = cheating(draws)
        dealt = self_dealing(bench)
    dealt["capture_with_appeals"] = appealed_captures()
    appeals = {key: by_share(dealt["capture_with_appeals"], n) for n, key in APPEAL_KEYS.items()}
    figures: dict[str, Any] = {
        "capture_stake_share": captured["capture_stake_share"],
        "max_cheat_ev": cheats["max_cheat_ev"],
        "max_cheat_ev_any_skip": cheats["max_cheat_ev_any_skip"],
        "self_deal_ev": dealt["self_deal_ev"],
        "self_deal_ev_fraction_of_budget": dealt["self_deal_ev_fraction_of_budget"],
        "self_deal_capture_ev": dealt["capture"]["self_deal_capture_ev_tokens"],
        **appeals,
        "goals": GOALS,
    }
    share = captured["capture_stake_share"]
    figures["within_goals"] = {
        "capture_stake_share": share is not None and share >= 0.45,
        "max_cheat_ev": cheats["max_cheat_ev"] < 0,
        "max_cheat_ev_any_skip": cheats["max_cheat_ev_any_skip"] < 0,
        "self_deal_ev": dealt["self_deal_ev"] < 0,
        **{key: all(ev < 0 for share, ev in by.items() if float(share) < 0.5) for key, by in appeals.items()},
    }
    figures["capture"] = captured
    figures["cheating"] = cheats
    figures["self_dealing"] = dealt
    figures["parameters"] = {
        "config": {
            k: (
                as_tokens(v)
                if k in ("min_provider_stake", "min_validator_stake", "validator_slash", "epoch_reward_cap")
                else v
            )
            for k, v in dataclasses.asdict(DEFAULT_CONFIG).items()
        },
        "budget_tokens": as_tokens(BUDGET),
        "validator_fee_tokens": as_tokens(VALIDATOR_FEE),
        "committee_size": COMMITTEE,
        "samples_per_validator": SAMPLES,
        "segments": SEGMENTS,
        "from": "crowdcompute/requester/spec.py, examples/digits_mlp/job.toml, chain/deploy.py",
    }
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.monotonic() - began, 1),
    }
    return figures


def report(figures: dict[str, Any]) -> None:
    captured, cheats, dealt = figures["capture"], figures["cheating"], figures["self_dealing"]
    print("(a) committee of 3: P(attacker holds a majority)")
    print(f"{'attacker':<12}{'share':>8}{'jobs':>7}{'measured':>10}{'binomial':>10}{'+-1se':>8}")
    for row in captured["curve"]:
        print(
            f"{row['attacker']:<12}{row['share']:>8.3f}{row['jobs']:>7}{row['measured']:>10.3f}"
            f"{row['analytic']:>10.3f}{row['std_error']:>8.3f}"
        )
    print(
        f"capture_stake_share (P >= 0.5): measured {captured['capture_stake_share']}, "
        f"binomial {captured['capture_stake_share_analytic']}"
    )
    attempts = captured["attempts"]
    for strategy in ("blind", "informed"):
        row = attempts[strategy]
        print(
            f"  {strategy:<8} attacker at share {attempts['share']}: "
            f"{row['gain_per_attempt_tokens']:+.3f} tokens per "
            f"attempt over {row['attempts']} finalized jobs; minority {row['gain_when_minority_tokens']}, "
            f"majority {row['gain_when_majority_tokens']}"
        )
    print("(b) skipping work (default job; EV relative to honest work, fraction of the budget)")
    print(f"{'skip':>6}{'P(caught)':>11}{'fixed set':>11}{'distinct':>10}{'EV':>10}")
    for row in cheats["rows"]:
        print(
            f"{row['skip']:>6.2f}{row['p_caught']:>11.4f}{row['p_caught_one_fixed_set']:>11.4f}"
            f"{row['p_caught_distinct_seats']:>10.4f}{row['ev_fraction_of_budget']:>+10.4f}"
        )
    print(
        f"max_cheat_ev {cheats['max_cheat_ev']:+.4f} at skip {cheats['max_cheat_ev_skip']}; over 0.1..5 %: "
        f"{cheats['sup_cheat_ev_fine_grid']:+.5f} at {cheats['sup_cheat_ev_skip']}; cheating pays up to skip "
        f"{cheats['cheating_pays_up_to_skip']}; distinct seats: {cheats['sup_cheat_ev_distinct_seats']}; "
        f"if one finding rejected: {cheats['sup_cheat_ev_if_one_finding_rejects']}"
    )
    print("(c) self-dealing pair: change of its position per job (tokens)")
    print(f"{'stake':<6}{'mode':<12}{'budget':>10}{'fee':>5}{'outcome':>11}{'delta':>14}{'/budget':>10}")
    for row in dealt["cases"]:
        print(
            f"{row['pair_validator_share']:<6}{row['mode']:<12}{row['budget_tokens']:>10g}"
            f"{row['validator_fee_tokens']:>5g}{row['outcome']:>11}{row['delta_tokens']:>14.4f}"
            f"{row['delta_fraction_of_budget']:>10.4f}"
        )
    capture_row = dealt["capture"]
    print(
        f"self_deal_ev {dealt['self_deal_ev']:+.4f} tokens, "
        f"{dealt['self_deal_ev_fraction_of_budget']:+.4f} of the "
        f"budget; with informed capture at share {capture_row['pair_validator_share']}, nobody appealing: "
        f"{capture_row['self_deal_capture_ev_tokens']:+.2f} tokens per job "
        f"(analytic {capture_row['analytic_ev_tokens']:+.2f})"
    )
    print(
        f"informed capture with appeals (budget {as_tokens(CAPTURE_BUDGET):g}): the honest seat that lost "
        "round 0 appeals as the daemon does; the pair appeals round 1 when that pays"
    )
    print(
        f"{'honest':>6}{'share':>8}{'jobs':>6}{'captured':>9}{'appealed':>9}{'pair r2':>8}{'unbacked':>9}"
        f"{'gain/job':>10}{'+-1se':>8}{'analytic':>10}"
    )
    for row in dealt["capture_with_appeals"]:
        print(
            f"{row['honest_validators']:>6}{row['pair_validator_share']:>8.4f}{row['jobs']:>6}"
            f"{row['captured_round_0']:>9}{row['honest_appealed_round_0']:>9}{row['pair_appealed_round_1']:>8}"
            f"{sum(row['unbacked_votes'].values()):>9}{row['ev_tokens']:>+10.1f}{row['std_error_tokens']:>8.1f}"
            f"{row['analytic_ev_tokens']:>+10.1f}"
        )
        print(f"{'':>14}after appeals: {row['outcomes_after_appeal']}; declined: {row['declined_appeals']}")
    for key, ok in figures["within_goals"].items():
        print(f"goal {key} {GOALS[key]}: {'met' if ok else 'MISSED'} ({figures[key]})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=240, help="jobs (committees drawn) per stake split")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = measure(args.jobs)
    report(figures)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
