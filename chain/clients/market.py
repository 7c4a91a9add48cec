"""The CrowdMarket deployment with domain verbs: `post_job`, `claim_job(job_id)`, `sign_vote`, `finalize` ...

Job calls take only the job id: the `Job` struct the contract wants as calldata is rebuilt by `JobStore`
from events (and kept fresh from each receipt this client sees).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain import committee
from chain import votes as vote_rows
from chain.abi import ContractCodec, DecodedLog
from chain.clients.base import ContractClient, first
from chain.clients.key_release import KeyReleaseClient
from chain.clients.token import TokenClient
from chain.compiler import Artifacts, compile_contracts
from chain.deployments import load_deployment
from chain.events import EventReader
from chain.job_store import JobStore, JobView
from chain.paths import DEPLOYMENTS_DIR
from chain.results import (
    AppealedJob,
    CancelledJob,
    ClaimedJob,
    ExpiredJob,
    FinalizedJob,
    Payment,
    PayWith,
    Permit,
    PostedJob,
    RegisteredProvider,
    RegisteredValidator,
    ReleasedClaim,
    StakeAdded,
    SubmittedResult,
    UnbondedWithdrawal,
    UnbondRequested,
    Withdrawal,
)
from chain.roster import Roster, RosterFeed
from chain.rpc import Rpc
from chain.sender import TxSender
from chain.types import (
    ZERO_BYTES32,
    Account,
    Bytes32,
    Capabilities,
    Deployment,
    Evidence,
    Job,
    JobId,
    JobSpec,
    JobStatus,
    MarketConfig,
    Outcome,
    ReleaseReason,
    ResultCommitment,
    TxResult,
    VerificationMode,
    Wei,
)
from chain.votes import SignedVote

log = logging.getLogger(__name__)


class MarketClient(ContractClient):
    """Typed access to one CrowdMarket deployment, acting as `account`."""

    def __init__(
        self,
        rpc: Rpc,
        deployment: Deployment,
        *,
        artifacts: Artifacts | None = None,
        sender: TxSender | None = None,
        account: LocalAccount | None = None,
    ) -> None:
        artifacts = artifacts or compile_contracts()
        self._artifacts = artifacts
        if artifacts.abi_hash("CrowdMarket", "CrowdToken") != deployment.abi_hash:
            log.warning(
                "the deployment at %s was made from other contract sources; calls may fail", deployment.market
            )
        super().__init__(
            rpc,
            deployment.market,
            ContractCodec(artifacts["CrowdMarket"].abi),
            sender=sender,
            account=account,
        )
        self.deployment = deployment
        self.token = TokenClient(
            rpc,
            deployment.token,
            ContractCodec(artifacts["CrowdToken"].abi),
            sender=self.sender,
            account=account,
        )
        self.jobs = JobStore(rpc, deployment.market, self.codec, start_block=deployment.block_number)
        self.roster_feed = RosterFeed(
            EventReader(
                rpc,
                deployment.market,
                self.codec,
                ["ValidatorWeightChanged"],
                start_block=deployment.block_number,
                batch_blocks=100_000,
            )
        )

    @classmethod
    def connect(
        cls,
        rpc: Rpc,
        *,
        account: LocalAccount | None = None,
        sender: TxSender | None = None,
        deployments_dir: Path = DEPLOYMENTS_DIR,
    ) -> MarketClient:
        """The client for the deployment recorded for the node's chain (`deployments/<chainId>.json`)."""
        return cls(rpc, load_deployment(rpc.chain_id, deployments_dir), account=account, sender=sender)

    def with_account(self, account: LocalAccount) -> Self:
        other = copy.copy(self)
        other.account = account
        other.token = self.token.with_account(account)
        return other

    def key_release(self) -> KeyReleaseClient:
        """The market's KeyRelease (sealed keys of confidential jobs), as this client's account and sender."""
        address = self.deployment.key_release or self.call("keyRelease")
        return KeyReleaseClient(
            self.rpc,
            address,
            ContractCodec(self._artifacts["KeyRelease"].abi),
            load_job=self.jobs.job,
            start_block=self.deployment.block_number,
            sender=self.sender,
            account=self.account,
        )

    # ----- jobs -----------------------------------------------------------------------------------------

    def post_job(self, spec: JobSpec, *, pay: PayWith = PayWith.AUTO) -> PostedJob:
        """Post a job; the market pulls the escrow (budget + protocol fee + committee fees) from this
        account's allowance. The spec's protocol fee is filled in from the market's `feeBps` (the contract
        sets it).

        `pay` says how the market gets that allowance (`PayWith`): by default the standing allowance when it
        covers the escrow, else an EIP-2612 permit in the same transaction, else an approve of exactly the
        escrow first. Never more than the escrow is approved.
        """
        return self._post(spec, pay)

    def post_job_with_permit(self, spec: JobSpec, *, deadline: int | None = None) -> PostedJob:
        """Post a job paying the escrow through an EIP-2612 permit (one transaction, no approve)."""
        return self._post(spec, PayWith.PERMIT, deadline=deadline)

    def _post(self, spec: JobSpec, pay: PayWith, *, deadline: int | None = None) -> PostedJob:
        spec = spec.with_protocol_fee(self.fee_bps())
        payment, permit = self._allow(spec.escrow, pay, deadline=deadline)
        if permit is None:
            tx, events = self.transact("postJob", spec.to_abi())
        else:
            tx, events = self.transact(
                "postJobWithPermit", spec.to_abi(), permit.deadline, permit.v, permit.r, permit.s
            )
        self.jobs.apply(events)
        job_id = JobId(first(events, "JobPosted").args["jobId"])
        return PostedJob(job_id, self.jobs.job(job_id), payment=payment, tx=tx, events=tuple(events))

    def cancel_job(self, job_id: JobId) -> CancelledJob:
        tx, events = self._job_call("cancelJob", job_id)
        return CancelledJob(
            JobId(job_id), Wei(first(events, "JobCancelled").args["refund"]), tx=tx, events=tuple(events)
        )

    def claim_job(self, job_id: JobId) -> ClaimedJob:
        tx, events = self._job_call("claimJob", job_id)
        return ClaimedJob(JobId(job_id), self.jobs.job(job_id), tx=tx, events=tuple(events))

    def submit_result(self, job_id: JobId, result: ResultCommitment) -> SubmittedResult:
        tx, events = self._job_call(
            "submitResult",
            job_id,
            result.result_digest,
            result.result_codec,
            result.checkpoint_root,
            result.checkpoint_count,
        )
        return SubmittedResult(JobId(job_id), self.jobs.job(job_id), tx=tx, events=tuple(events))

    def sign_vote(
        self, job_id: JobId, seat: int, approve: bool, evidence: Evidence | None = None
    ) -> SignedVote:
        """This account's signed vote at `seat` of a submitted job, to hand to whoever finalizes it."""
        job = self.jobs.job(job_id)
        return vote_rows.sign_vote(
            self.signer,
            self.rpc.chain_id,
            self.address,
            job_id,
            job.state.result_hash,
            seat,
            approve,
            evidence or Evidence(),
            job.state.round,
        )

    def finalize(self, job_id: JobId, votes: Sequence[SignedVote] = ()) -> FinalizedJob:
        """Reveal the current round's `votes` (signed by their seats' holders) and settle the job; other seats
        count as silent.

        The seats are proven from the roster the round was drawn from (rebuilt from the market's events).
        """
        job = self.jobs.job(job_id)
        tx, events = self.transact("finalize", job_id, job.to_abi(), self._seat_rows(job_id, job, votes))
        self.jobs.apply(events)
        done = first(events, "JobFinalized").args
        paid = [e.args for e in events if e.name == "ProviderPaid"]
        reopened = any(e.name == "JobReopened" for e in events)
        return FinalizedJob(
            JobId(job_id),
            Outcome(done["outcome"]),
            done["accepts"],
            done["rejects"],
            Wei(paid[0]["payment"]) if paid else Wei(0),
            Wei(paid[0]["reward"]) if paid else Wei(0),
            _slashed(events),
            reopened,
            self.jobs.job(job_id) if reopened else None,
            tx=tx,
            events=tuple(events),
        )

    def appeal(
        self, job_id: JobId, votes: Sequence[SignedVote] = (), *, pay: PayWith = PayWith.AUTO
    ) -> AppealedJob:
        """Appeal the current round's decision with its `votes` revealed: a larger committee decides next.

        Pays the bond (`appeal_bond`) from this account's allowance (an approve is sent first when it falls
        short; the market takes no permit for appeals).
        """
        job = self.jobs.job(job_id)
        bond = self.appeal_bond(job_id)
        method = self.payment_method(bond) if pay == PayWith.AUTO else PayWith(pay)
        payment, _ = self._allow(bond, PayWith.APPROVE if method == PayWith.PERMIT else method)
        tx, events = self.transact("appeal", job_id, job.to_abi(), self._seat_rows(job_id, job, votes))
        self.jobs.apply(events)
        args = first(events, "JobAppealed").args
        return AppealedJob(
            JobId(job_id),
            int(args["round"]),
            to_checksum_address(args["appellant"]),
            Wei(args["bond"]),
            payment,
            self.jobs.job(job_id),
            tx=tx,
            events=tuple(events),
        )

    def appeal_bond(self, job_id: JobId) -> Wei:
        """What appealing the job's current round costs: the next round's fees, at least `validatorSlash`."""
        job = self.jobs.job(job_id)
        seats = committee.round_seats(job.spec.committee_size, job.state.round + 1)
        return Wei(max(self.config().validator_slash, seats * job.spec.validator_fee))

    def round_decision(self, job_id: JobId, votes: Sequence[SignedVote]) -> Outcome:
        """What the current round's committee decided with `votes` revealed, as `appeal` and `finalize` tally
        them: one vote per seat, the seat's holder's only; the requester's seats judge nothing; other seats
        are silent. Needs the seed (the block after the round's start)."""
        job = self.jobs.job(job_id)
        holders = [h.lower() for h in self.committee_of(job_id)]
        requester = str(job.spec.requester).lower()
        by_seat = {
            v.seat: v
            for v in votes
            if v.round == job.state.round and v.seat < len(holders) and v.validator.lower() == holders[v.seat]
        }
        judged = [seat for seat in by_seat if holders[seat] != requester]
        approvals = sum(1 for seat in judged if by_seat[seat].approve)
        judges = sum(1 for holder in holders if holder != requester)
        return committee.decision(approvals, len(judged) - approvals, judges, len(holders))

    def _seat_rows(self, job_id: JobId, job: Job, votes: Sequence[SignedVote]) -> list[Any]:
        """Every seat of the job's current round, proven, with the `votes` of this round signed in."""
        if job.spec.mode == VerificationMode.NONE or self.rpc.block_number() <= job.state.submit_block:
            return []
        roster = self.roster_of(job_id)
        if not roster.total:
            return []
        size = committee.round_seats(job.spec.committee_size, job.state.round)
        mine = {v.seat: v for v in votes if v.round == job.state.round}
        return vote_rows.seat_rows(roster, self.seed_of(job_id), size, mine)

    def expire_job(self, job_id: JobId) -> ExpiredJob:
        tx, events = self._job_call("expireJob", job_id)
        expired = first(events, "JobExpired").args
        reopened = any(e.name == "JobReopened" for e in events)
        return ExpiredJob(
            JobId(job_id),
            expired["provider"],
            Wei(expired["slashed"]),
            reopened,
            self.jobs.job(job_id) if reopened else None,
            tx=tx,
            events=tuple(events),
        )

    def release_claim(self, job_id: JobId) -> ReleasedClaim:
        """As the claimant of a confidential job, give the claim back before its deadline: free when the
        requester recorded no key (the job reopens as it was), else the collateral is burned
        (docs/confidential.md)."""
        tx, events = self._job_call("releaseClaim", job_id)
        released = first(events, "ClaimReleased").args
        reason = ReleaseReason(released["reason"])
        reopened = reason == ReleaseReason.KEY_NOT_RELEASED or any(e.name == "JobReopened" for e in events)
        return ReleasedClaim(
            JobId(job_id),
            to_checksum_address(released["provider"]),
            reason,
            Wei(released["burned"]),
            reopened,
            self.jobs.job(job_id) if reopened else None,
            tx=tx,
            events=tuple(events),
        )

    def _job_call(self, function: str, job_id: JobId, *extra: Any) -> tuple[Any, list[DecodedLog]]:
        job = self.jobs.job(job_id)
        tx, events = self.transact(function, job_id, job.to_abi(), *extra)
        self.jobs.apply(events)
        return tx, events

    # ----- staking --------------------------------------------------------------------------------------

    def register_provider(
        self, capabilities: Capabilities, metadata_digest: bytes = ZERO_BYTES32
    ) -> RegisteredProvider:
        tx, events = self.transact("registerProvider", capabilities.to_abi(), metadata_digest)
        args = first(events, "ProviderRegistered").args
        return RegisteredProvider(
            args["provider"],
            Capabilities.from_abi(args["caps"]),
            Bytes32(args["metadataDigest"]),
            tx=tx,
            events=tuple(events),
        )

    def register_validator(self) -> RegisteredValidator:
        tx, events = self.transact("registerValidator")
        args = first(events, "ValidatorRegistered").args
        return RegisteredValidator(args["validator"], args["index"], tx=tx, events=tuple(events))

    def stake(self, amount: int, *, pay: PayWith = PayWith.AUTO) -> StakeAdded:
        """Add stake, pulled from this account's allowance, given as `pay` says (as `post_job`)."""
        payment, permit = self._allow(amount, pay)
        if permit is None:
            tx, events = self.transact("stake", amount)
        else:
            tx, events = self.transact(
                "stakeWithPermit", amount, permit.deadline, permit.v, permit.r, permit.s
            )
        args = first(events, "Staked").args
        return StakeAdded(
            args["account"],
            Wei(args["amount"]),
            Wei(args["totalStake"]),
            payment=payment,
            tx=tx,
            events=tuple(events),
        )

    def request_unbond(self, amount: int) -> UnbondRequested:
        tx, events = self.transact("requestUnbond", amount)
        args = first(events, "UnbondRequested").args
        return UnbondRequested(
            args["account"], Wei(args["amount"]), args["releaseAt"], tx=tx, events=tuple(events)
        )

    def withdraw_unbonded(self) -> UnbondedWithdrawal:
        tx, events = self.transact("withdrawUnbonded")
        args = first(events, "UnbondedWithdrawn").args
        return UnbondedWithdrawal(args["account"], Wei(args["amount"]), tx=tx, events=tuple(events))

    def withdraw(self) -> Withdrawal:
        tx, events = self.transact("withdraw")
        args = first(events, "Withdrawn").args
        return Withdrawal(
            args["account"], Wei(args["amount"]), Wei(args["reward"]), tx=tx, events=tuple(events)
        )

    def burn_fees(self) -> Wei:
        """Burn the protocol fees accepted jobs set aside (anyone may; one token call for many jobs); what was
        burned, 0 when nothing was pending."""
        _, events = self.transact("burnFees")
        burned = [e for e in events if e.name == "FeesBurned"]
        return Wei(burned[0].args["amount"]) if burned else Wei(0)

    # ----- governance ----------------------------------------------------------------------------------

    def pause(self) -> TxResult:
        """Refuse new posts, claims and registrations (the guardian only)."""
        tx, _ = self.transact("pause")
        return tx

    def unpause(self) -> TxResult:
        """Accept new posts, claims and registrations again (the guardian; the governor via its timelock)."""
        tx, _ = self.transact("unpause")
        return tx

    # ----- paying the market ----------------------------------------------------------------------------

    def payment_method(self, amount: int) -> PayWith:
        """How `PayWith.AUTO` pays the market `amount` from this account now: the standing allowance when it
        covers `amount`, else a permit when the token takes one, else an approve of exactly `amount`."""
        if self.token.allowance(self.me, self.address) >= amount:
            return PayWith.ALLOWANCE
        return PayWith.PERMIT if self.token.supports_permit else PayWith.APPROVE

    def _allow(
        self, amount: int, pay: PayWith, *, deadline: int | None = None
    ) -> tuple[Payment, Permit | None]:
        """Give the market the allowance to take `amount` as `pay` says: the approve is sent here, the permit
        is returned for the paying call to carry."""
        method = self.payment_method(amount) if pay == PayWith.AUTO else PayWith(pay)
        if method == PayWith.PERMIT:
            permit = self.token.sign_permit(self.address, amount, deadline=deadline)
            return Payment(method, Wei(amount)), permit
        approval = self.token.ensure_allowance(self.address, amount) if method == PayWith.APPROVE else None
        return Payment(method, Wei(amount), approval), None

    # ----- views ----------------------------------------------------------------------------------------

    def job(self, job_id: JobId) -> JobView:
        """The job as the chain has it now (struct rebuilt from events, status and votes from the word)."""
        return self.jobs.load(job_id)

    def account_of(self, address: str | None = None) -> Account:
        return Account.from_abi(self.call("accountOf", address or self.me))

    def capabilities_of(self, address: str | None = None) -> Capabilities:
        return Capabilities.from_abi(self.call("capabilitiesOf", address or self.me))

    def metadata_of(self, address: str | None = None) -> Bytes32:
        return Bytes32(self.call("metadataOf", address or self.me))

    def status_of(self, job_id: JobId) -> JobStatus:
        return JobStatus(self.call("statusOf", job_id))

    def job_word(self, job_id: JobId) -> Bytes32:
        return Bytes32(self.call("jobWord", job_id))

    def next_job_id(self) -> JobId:
        return JobId(self.call("nextJobId"))

    def rewards_remaining(self) -> Wei:
        return Wei(self.call("rewardsRemaining"))

    def fees_to_burn(self) -> Wei:
        """Protocol fees of accepted jobs set aside and not burned yet (`burn_fees`)."""
        return Wei(self.call("feesToBurn"))

    def config(self) -> MarketConfig:
        """The parameters in force now (the governor may change them; the deployment record has the first)."""
        return MarketConfig.from_abi(self.call("config"))

    def paused(self) -> bool:
        """Whether the guardian paused new posts, claims and registrations."""
        return bool(self.call("paused"))

    def guardian(self) -> ChecksumAddress:
        return to_checksum_address(self.call("guardian"))

    def governor(self) -> ChecksumAddress:
        return to_checksum_address(self.call("governor"))

    def fee_bps(self) -> int:
        """The protocol fee rate in force now (the governor may change it, so it is read each time)."""
        return self.config().fee_bps

    def epoch_rewards(self) -> tuple[int, Wei]:
        """The current reward epoch as last recorded and the rewards owed in it."""
        epoch, rewarded = self.call("epochRewards")
        return int(epoch), Wei(rewarded)

    def validator_count(self) -> int:
        return int(self.call("validatorCount"))

    def roster_root(self) -> Bytes32:
        return Bytes32(self.call("rosterRoot"))

    def roster_of(self, job_id: JobId) -> Roster:
        """The roster a submitted job's committee is drawn from (its snapshot, rebuilt from events)."""
        job = self.jobs.job(job_id)
        return self.roster_feed.at(job.state.roster_root, job.state.submit_block)

    def hash_job(self, job: Job) -> Bytes32:
        return Bytes32(self.call("hashJob", job.to_abi()))

    def committee_of(self, job_id: JobId) -> list[ChecksumAddress]:
        """The seat holders of a submitted job's current round, seat by seat (empty without a roster; needs
        the seed)."""
        job = self.jobs.job(job_id)
        size = committee.round_seats(job.spec.committee_size, job.state.round)
        holders = vote_rows.holders(self.roster_of(job_id), self.seed_of(job_id), size)
        return [to_checksum_address(a) for a in holders]

    def seats_of(self, job_id: JobId, validator: str | None = None) -> list[int]:
        """The seats `validator` (default: this account) holds on a submitted job's committee."""
        job = self.jobs.job(job_id)
        size = committee.round_seats(job.spec.committee_size, job.state.round)
        return vote_rows.seats_of(self.roster_of(job_id), self.seed_of(job_id), size, validator or self.me)

    def seed_block_hash(self, submit_block: int) -> bytes:
        """The hash of the block seeding a job submitted in `submit_block` (`RpcError` before it is mined)."""
        return bytes.fromhex(self.rpc.get_block(committee.seed_block(submit_block))["hash"][2:])

    def seed_of(self, job_id: JobId) -> Bytes32:
        """The committee seed: readable once the block after the submission is mined."""
        return Bytes32(self.call("seedOf", job_id, self.jobs.job(job_id).to_abi(), block="pending"))

    def vote_digest(
        self, job_id: JobId, seat: int, approve: bool, evidence: Evidence | None = None
    ) -> Bytes32:
        """The contract's EIP-712 digest of a vote (what `sign_vote` signs)."""
        job = self.jobs.job(job_id)
        return Bytes32(
            self.call(
                "voteDigest",
                job_id,
                job.state.round,
                job.state.result_hash,
                seat,
                approve,
                (evidence or Evidence()).to_abi(),
            )
        )


def _slashed(events: list[DecodedLog]) -> dict[ChecksumAddress, Wei]:
    out: dict[ChecksumAddress, Wei] = {}
    for event in events:
        if event.name == "StakeSlashed":
            account = event.args["account"]
            out[account] = Wei(out.get(account, 0) + event.args["amount"])
    return out
