"""The cast of the cheater suite and the loop that drives a committee of validator daemons to a verdict.

Accounts (anvil's public dev keys; registered per test module and rolled back, see conftest.py):
dev 1 requests, dev 2 is the honest provider (a real ProviderNode), dev 3 the scripted cheater, and
dev 7, 8, 9 are the three validators, equally staked: a committee's seats are drawn among them by stake,
with replacement, so one of them may hold several seats of a job and another none.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress

from chain import (
    Account,
    DecodedLog,
    DevChain,
    EventReader,
    JobSpec,
    MarketClient,
    VerificationMode,
    Wei,
    seed_block,
    tokens,
)
from jobs.cid import Cid
from jobs.executors import ImageRef
from tests.chain.market_cast import mine_until_settleable
from tests.conftest import TEST_CONFIG
from validator.daemon import ValidatorNode
from validator.state import Phase, Verification

REQUESTER = 1
HONEST_PROVIDER = 2
CHEATER = 3
VALIDATORS = (7, 8, 9)
VALIDATOR_STAKE = tokens(200)

SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x00" * 32,
    bundle_codec=0x55,
    collateral=tokens(5),
    run_timeout=3600,
    cpu_cores=1,
    memory_mib=1024,
    mode=VerificationMode.SEGMENTS,
    committee_size=3,
    samples_per_validator=2,
    verify_blocks=20,
    validator_fee=tokens(1),
).with_protocol_fee(TEST_CONFIG.fee_bps)  # as the client fills it in: `escrow` is what a post pulls


def job_spec(bundle: Cid, **changes: Any) -> JobSpec:
    digest, codec = bundle.to_chain()
    return dataclasses.replace(SPEC, bundle_digest=digest, bundle_codec=codec, **changes)


@dataclass(frozen=True)
class VerifiableJob:
    """The digits example pinned to this machine's runtime image, packed and added to the store."""

    folder: Path
    cid: Cid
    image: ImageRef


@dataclass(frozen=True)
class Ledger:
    """Every watched account as the market holds it at one moment."""

    accounts: dict[str, Account]

    @classmethod
    def read(cls, market: MarketClient, addresses: Sequence[str]) -> Ledger:
        return cls({address: market.account_of(address) for address in addresses})

    def delta(self, later: Ledger, address: str) -> dict[str, int]:
        """Changes of stake, locked collateral, balance and owed reward (later minus now); zeros left out."""
        before, after = self.accounts[address], later.accounts[address]
        changes = {
            name: int(getattr(after, name)) - int(getattr(before, name))
            for name in ("stake", "locked", "balance", "reward_owed")
        }
        return {name: value for name, value in changes.items() if value}


@dataclass(frozen=True)
class Settled:
    """How a job's attempt ended: its events from submission on, and what each validator recorded."""

    job_id: int
    events: list[DecodedLog]
    records: dict[str, Verification]

    def named(self, name: str) -> list[DecodedLog]:
        return [event for event in self.events if event.name == name]

    @property
    def finalized(self) -> DecodedLog:
        (event,) = self.named("JobFinalized")
        return event

    def votes(self) -> dict[str, DecodedLog]:
        """One revealed vote per validator (a holder of several seats signs the same verdict on each)."""
        return {event.args["validator"]: event for event in self.named("VoteCast")}

    def seats(self) -> Counter[str]:
        """Revealed votes by validator: the seats each one voted on."""
        return Counter(event.args["validator"] for event in self.named("VoteCast"))

    def slashed(self) -> dict[str, Wei]:
        """Stake slashed by account, summed (a validator loses one bond per seat it lost)."""
        total: Counter[str] = Counter()
        for event in self.named("StakeSlashed"):
            total[event.args["account"]] += int(event.args["amount"])
        return {account: Wei(amount) for account, amount in total.items()}

    def credited(self, address: str) -> int:
        return sum(e.args["amount"] for e in self.named("BalanceCredited") if e.args["account"] == address)


class Committee:
    """Validator daemons stepped together: every round steps each node, then waits for its verifications
    (and the votes they send), so all members vote before any of them settles the job."""

    def __init__(self, nodes: list[ValidatorNode], observer: MarketClient, chain: DevChain) -> None:
        self.nodes = nodes
        self.observer = observer
        self.chain = chain

    @property
    def addresses(self) -> list[ChecksumAddress]:
        return [node.me for node in self.nodes]

    def node(self, address: str) -> ValidatorNode:
        return next(node for node in self.nodes if node.me == address)

    def run_until_final(self, job_id: int, *, mine_per_round: int = 0, timeout_s: float = 240.0) -> Settled:
        """Step the daemons until the job's submission is finalized (by one of them); `mine_per_round`
        blocks pass between rounds (anvil mines only on transactions) for verdicts that wait on the window.
        The seed block is mined first (the committee is drawn from its hash)."""
        submitted = self.observer.job(job_id).job.state.submit_block
        assert submitted, f"job {job_id} has no submission to verify"
        if self.chain.rpc.block_number() <= submitted:
            self.chain.mine(1)
        deadline = time.monotonic() + timeout_s
        while True:
            for node in self.nodes:
                node.step()
            for node in self.nodes:
                assert node.wait_idle(max(1.0, deadline - time.monotonic())), "a verification hangs"
            events = self.events(job_id, submitted)
            if any(event.name == "JobFinalized" for event in events):
                for node in self.nodes:  # each daemon records the outcome it read
                    node.step()
                return Settled(job_id, events, self.records(job_id))
            records = self.records(job_id)
            if records and all(r.phase is Phase.ABSTAINED for r in records.values()):
                reasons = {address: record.reason for address, record in records.items()}
                raise AssertionError(f"job {job_id}: every validator abstained: {reasons}")
            if records and all(r.phase in (Phase.VOTED, Phase.ABSTAINED) for r in records.values()):
                # Every seat here delivered its vote and nobody appeals here: let the appeal window pass.
                mine_until_settleable(self.observer, job_id)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"job {job_id} was not finalized in {timeout_s} s: {self.records(job_id)}"
                )
            if mine_per_round:
                self.chain.mine(mine_per_round)
            time.sleep(0.05)

    def run_until_closed(self, job_id: int, *, mine_per_round: int = 2, timeout_s: float = 120.0) -> Settled:
        """Like `run_until_final`, but abstentions are an expected end: blocks pass between rounds until
        the window closes and one of the daemons settles the job."""
        submitted = self.observer.job(job_id).job.state.submit_block
        assert submitted, f"job {job_id} has no submission to verify"
        self.mine_seed_block(submitted)
        deadline = time.monotonic() + timeout_s
        while True:
            for node in self.nodes:
                node.step()
            for node in self.nodes:
                assert node.wait_idle(max(1.0, deadline - time.monotonic())), "a verification hangs"
            events = self.events(job_id, submitted)
            if any(event.name == "JobFinalized" for event in events):
                for node in self.nodes:
                    node.step()
                return Settled(job_id, events, self.records(job_id))
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} was not settled in {timeout_s} s: {self.records(job_id)}")
            self.chain.mine(mine_per_round)
            time.sleep(0.05)

    def mine_seed_block(self, submit_block: int) -> None:
        """Mine the block after the submission (anvil mines only on transactions): the committee is drawn
        from its hash, so no validator takes its seat before it exists."""
        self.chain.mine_until(seed_block(submit_block))

    def records(self, job_id: int) -> dict[str, Verification]:
        found: dict[str, Verification] = {}
        for node in self.nodes:
            mine = [record for record in node.state.records() if record.job_id == job_id]
            if mine:
                found[node.me] = mine[-1]
        return found

    def events(self, job_id: int, from_block: int) -> list[DecodedLog]:
        """Every market event of `job_id` from `from_block` on (jobId is indexed at different positions)."""
        market = self.observer
        reader = EventReader(market.rpc, market.address, market.codec, start_block=from_block)
        return [event for event in reader.catch_up() if event.args.get("jobId") == job_id]


CommitteeFactory = Callable[..., Committee]
"""conftest's `make_committee`: (kinds: {dev index: daemon class} | None) -> Committee."""
