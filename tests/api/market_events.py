"""Synthetic, ABI-shaped market events (as `chain.abi.DecodedLog`) for projection tests without a chain."""

from __future__ import annotations

import hashlib
from typing import Any

from chain import Capabilities, DecodedLog, Evidence, JobSpec, Roster, VerificationMode, Wei

MARKET = "0x" + "aa" * 20
REQUESTER = "0x" + "11" * 20
PROVIDER = "0x" + "22" * 20
VALIDATORS = ["0x" + f"{0x30 + i:02x}" * 20 for i in range(3)]
BUNDLE_DIGEST = hashlib.sha256(b"bundle").digest()
RESULT_DIGEST = hashlib.sha256(b"result").digest()


class EventLog:
    """Builds events in chain order: one block per call unless `same_block=True`."""

    def __init__(self, first_block: int = 10) -> None:
        self.block = first_block - 1
        self.log_index = 0
        self.events: list[DecodedLog] = []
        self.roster = Roster()
        """The validator roster these events built (its root is what `submit` snapshots)."""

    def emit(self, name: str, args: dict[str, Any], *, same_block: bool = False) -> DecodedLog:
        if same_block and self.events:
            self.log_index += 1
        else:
            self.block += 1
            self.log_index = 0
        event = DecodedLog(
            name=name,
            args=args,
            address=MARKET,
            block_number=self.block,
            log_index=self.log_index,
            tx_hash="0x" + hashlib.sha256(f"{self.block}".encode()).hexdigest(),
            block_hash="0x" + hashlib.sha256(f"b{self.block}".encode()).hexdigest(),
        )
        self.events.append(event)
        return event

    # -- accounts

    def register_provider(self, provider: str = PROVIDER, stake: int = 1000) -> None:
        caps = Capabilities(
            gpu_count=1,
            gpu_memory_mib=8192,
            gpu_class=2,
            cpu_cores=8,
            memory_mib=32768,
            price_per_hour=Wei(5),
        )
        self.emit(
            "ProviderRegistered",
            {"provider": provider, "caps": caps.to_abi(), "metadataDigest": b"\x01" * 32},
        )
        self.emit("Staked", {"account": provider, "amount": stake, "totalStake": stake})

    def register_validator(self, index: int, stake: int = 500, address: str | None = None) -> None:
        """Stake, then register: the validator joins the roster at leaf `index` with its stake as weight
        (`address`: another validator than `VALIDATORS[index]`)."""
        validator = address or VALIDATORS[index]
        self.emit("Staked", {"account": validator, "amount": stake, "totalStake": stake})
        self.emit("ValidatorRegistered", {"validator": validator, "index": index})
        self.set_weight(index, stake, address=validator, same_block=True)

    def set_weight(
        self, index: int, weight: int, *, address: str | None = None, same_block: bool = False
    ) -> None:
        """The validator at roster leaf `index` changes weight (0: it leaves the roster)."""
        validator = address or VALIDATORS[index]
        self.roster.set(index, validator, weight)
        self.emit(
            "ValidatorWeightChanged",
            {"validator": validator, "leaf": index, "weight": weight},
            same_block=same_block,
        )

    # -- a job

    def post(
        self,
        job_id: int,
        *,
        budget: int = 100,
        collateral: int = 30,
        reopen: bool = False,
        bundle: tuple[bytes, int] = (BUNDLE_DIGEST, 0x55),
        result_key: bytes = b"\x00" * 32,
    ) -> None:
        """`bundle`: the bundle CID as the chain stores it, `(digest, codec)` (`Cid.to_chain()`)."""
        spec = JobSpec(
            budget=Wei(budget),
            bundle_digest=bundle[0],
            bundle_codec=bundle[1],
            collateral=Wei(collateral),
            run_timeout=3600,
            requester=REQUESTER,  # type: ignore[arg-type]
            mode=VerificationMode.SEGMENTS,
            committee_size=3,
            samples_per_validator=2,
            verify_blocks=20,
            validator_fee=Wei(5),
            reward=Wei(10),
            reopen_on_failure=reopen,
            result_key=result_key,
        )
        self.emit("JobPosted", {"jobId": job_id, "requester": REQUESTER, "spec": spec.to_abi()})

    def claim(self, job_id: int, provider: str = PROVIDER) -> None:
        self.emit("JobClaimed", {"jobId": job_id, "provider": provider, "deadline": 2_000_000_000})

    def submit(self, job_id: int, provider: str = PROVIDER) -> None:
        self.emit(
            "ResultSubmitted",
            {
                "jobId": job_id,
                "provider": provider,
                "resultDigest": RESULT_DIGEST,
                "resultCodec": 0x55,
                "checkpointRoot": b"\x07" * 32,
                "checkpointCount": 4,
                "rosterRoot": self.roster.root,
            },
        )

    def vote(self, job_id: int, index: int, approve: bool = True, *, same_block: bool = False) -> None:
        """One vote revealed by `finalize` (the votes, then `accept`/`reject`, share its block)."""
        evidence = Evidence(segment=index, committed_digest=b"\x08" * 32, recomputed_digest=b"\x08" * 32)  # type: ignore[arg-type]
        self.emit(
            "VoteCast",
            {
                "jobId": job_id,
                "validator": VALIDATORS[index],
                "slot": index,
                "approve": approve,
                "evidence": evidence.to_abi(),
            },
            same_block=same_block,
        )
        self.emit(
            "BalanceCredited", {"account": VALIDATORS[index], "jobId": job_id, "amount": 5}, same_block=True
        )

    def accept(
        self,
        job_id: int,
        provider: str = PROVIDER,
        accepts: int = 2,
        budget: int = 100,
        *,
        same_block: bool = False,
    ) -> None:
        self.emit(
            "JobFinalized",
            {"jobId": job_id, "outcome": 0, "accepts": accepts, "rejects": 0},
            same_block=same_block,
        )
        self.emit(
            "ProviderPaid",
            {"jobId": job_id, "provider": provider, "payment": budget, "reward": 10},
            same_block=True,
        )

    def reject(self, job_id: int, provider: str = PROVIDER, collateral: int = 30) -> None:
        self.emit("JobFinalized", {"jobId": job_id, "outcome": 1, "accepts": 0, "rejects": 2})
        self.emit(
            "StakeSlashed", {"account": provider, "jobId": job_id, "amount": collateral}, same_block=True
        )

    def appeal(self, job_id: int, round_: int, appellant: str = REQUESTER, bond: int = 62) -> None:
        """`JobAppealed`: round `round_` starts in this block, drawn from the roster as it is now."""
        self.emit(
            "JobAppealed",
            {
                "jobId": job_id,
                "round": round_,
                "appellant": appellant,
                "bond": bond,
                "rosterRoot": self.roster.root,
            },
        )

    def release_claim(self, job_id: int, *, burned: int = 0, provider: str = PROVIDER) -> None:
        """`releaseClaim` of a confidential job: free (`burned == 0`, KeyNotReleased) or after a recorded key
        (KeyRefused: the collateral slashed, then set aside to be burned)."""
        if burned:
            self.emit("StakeSlashed", {"account": provider, "jobId": job_id, "amount": burned})
        reason = 1 if burned else 0
        self.emit(
            "ClaimReleased",
            {"jobId": job_id, "provider": provider, "reason": reason, "burned": burned},
            same_block=bool(burned),
        )

    def reopen(self, job_id: int, attempts: int = 1) -> None:
        self.emit("JobReopened", {"jobId": job_id, "attempts": attempts}, same_block=True)

    def cancel(self, job_id: int) -> None:
        self.emit("JobCancelled", {"jobId": job_id, "refund": 115})

    def full_lifecycle(self, job_id: int) -> None:
        self.post(job_id)
        self.claim(job_id)
        self.submit(job_id)
        # One finalize transaction reveals the votes and decides.
        self.vote(job_id, 0)
        self.vote(job_id, 1, same_block=True)
        self.accept(job_id, same_block=True)
