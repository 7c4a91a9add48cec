"""What each client call returns: the typed outcome, the mined transaction and its decoded events."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from eth_typing import ChecksumAddress

from chain.abi import DecodedLog
from chain.types import Bytes32, Capabilities, Job, JobId, Outcome, ReleaseReason, TxResult, Wei


class PayWith(StrEnum):
    """How a call that pays the market (`post_job`, `stake`) gives the market its allowance.

    The market takes only what its caller allowed it (standard ERC20 `transferFrom`); these are the ways to
    allow it. None of them approves more than the payment: a larger standing allowance is the caller's choice,
    made with `TokenClient.approve`.
    """

    AUTO = "auto"
    """The standing allowance if it covers the payment, else a permit if the token takes one, else approve."""
    ALLOWANCE = "allowance"
    """Spend the standing allowance and send nothing else (`ERC20InsufficientAllowance` when it is short)."""
    PERMIT = "permit"
    """An EIP-2612 permit for exactly the payment, signed here, applied in the same transaction."""
    APPROVE = "approve"
    """An `approve` of exactly the payment first (its own transaction), unless the allowance covers it."""


@dataclass(frozen=True)
class Payment:
    """How a payment to the market was allowed: `method` is never `AUTO`; `approval` is the approve
    transaction sent for it, if one was."""

    method: PayWith
    amount: Wei
    approval: TxResult | None = None

    @property
    def gas_used(self) -> int:
        """Gas of the approve transaction (0 when none was sent)."""
        return self.approval.gas_used if self.approval is not None else 0


@dataclass(frozen=True)
class _Mined:
    tx: TxResult = field(kw_only=True)
    events: tuple[DecodedLog, ...] = field(default=(), repr=False, kw_only=True)

    def events_named(self, name: str) -> list[DecodedLog]:
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class PostedJob(_Mined):
    job_id: JobId
    job: Job
    payment: Payment = field(kw_only=True)


@dataclass(frozen=True)
class CancelledJob(_Mined):
    job_id: JobId
    refund: Wei


@dataclass(frozen=True)
class ClaimedJob(_Mined):
    job_id: JobId
    job: Job


@dataclass(frozen=True)
class SubmittedResult(_Mined):
    job_id: JobId
    job: Job


@dataclass(frozen=True)
class CastVote(_Mined):
    job_id: JobId
    slot: int
    approve: bool
    fee: Wei


@dataclass(frozen=True)
class FinalizedJob(_Mined):
    job_id: JobId
    outcome: Outcome
    accepts: int
    rejects: int
    payment: Wei
    reward: Wei
    slashed: dict[ChecksumAddress, Wei]
    reopened: bool
    job: Job | None
    """The reopened job's struct, or None when the job closed."""


@dataclass(frozen=True)
class AppealedJob(_Mined):
    job_id: JobId
    round: int
    """The new round (1 or 2)."""
    appellant: ChecksumAddress
    bond: Wei
    payment: Payment
    job: Job
    """The job as it stands in the new round."""


@dataclass(frozen=True)
class ExpiredJob(_Mined):
    job_id: JobId
    provider: ChecksumAddress
    slashed: Wei
    reopened: bool
    job: Job | None


@dataclass(frozen=True)
class ReleasedClaim(_Mined):
    """A confidential job's claim given back (`releaseClaim`): free (`KEY_NOT_RELEASED`, the job is open
    again as it was) or with the collateral burned (`KEY_REFUSED`; the job reopened or closed as a failed job
    does)."""

    job_id: JobId
    provider: ChecksumAddress
    reason: ReleaseReason
    burned: Wei
    reopened: bool
    job: Job | None


@dataclass(frozen=True)
class RegisteredProvider(_Mined):
    provider: ChecksumAddress
    capabilities: Capabilities
    metadata_digest: Bytes32


@dataclass(frozen=True)
class RegisteredValidator(_Mined):
    validator: ChecksumAddress
    index: int


@dataclass(frozen=True)
class StakeAdded(_Mined):
    account: ChecksumAddress
    amount: Wei
    total_stake: Wei
    payment: Payment = field(kw_only=True)


@dataclass(frozen=True)
class UnbondRequested(_Mined):
    account: ChecksumAddress
    amount: Wei
    release_at: int


@dataclass(frozen=True)
class UnbondedWithdrawal(_Mined):
    account: ChecksumAddress
    amount: Wei


@dataclass(frozen=True)
class Withdrawal(_Mined):
    account: ChecksumAddress
    amount: Wei
    reward: Wei


@dataclass(frozen=True)
class Permit:
    """An EIP-2612 permit signature, ready for `*WithPermit` calls."""

    owner: ChecksumAddress
    spender: ChecksumAddress
    value: Wei
    deadline: int
    v: int
    r: bytes
    s: bytes
