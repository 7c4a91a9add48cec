"""The contracts' enums and structs (generated from `contracts/market/Types.sol`), the types that carry
meaning (`JobId`, `Wei`, ...), and the typed results of client calls.

The job layout (`JobSpec`, `JobState`, `Job`, the enums, `MAX_COMMITTEE_SIZE` ...) lives in
`chain/generated/job_layout.py`, written by `make setup` from the Solidity source; this module re-exports it
with the hand-written records that are not contract structs (deployments, receipts, result commitments).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.abi_struct import AbiStruct, FieldLayout, enum_label
from chain.generated.job_layout import (
    FINAL_ROUND,
    JOB_LAYOUT,
    JOB_SIZE,
    JOB_SPEC_OFFSET,
    JOB_SPEC_SIZE,
    JOB_STATE_OFFSET,
    JOB_STATE_SIZE,
    JOB_WORD_HASH_SHIFT,
    JOB_WORD_STATUS_SHIFT,
    MAX_COMMITTEE_SIZE,
    MAX_REOPENS,
    MAX_VERIFY_BLOCKS,
    ROUND_1_SEATS,
    ROUND_2_SEATS,
    Account,
    AccountFields,
    Capabilities,
    CapabilitiesFields,
    Capability,
    Evidence,
    Job,
    JobSpec,
    JobSpecField,
    JobSpecFields,
    JobState,
    JobStateFields,
    JobStatus,
    MarketConfig,
    Outcome,
    ReleaseReason,
    Role,
    VerificationMode,
    VerificationModeName,
    VoteReason,
)
from chain.primitives import (
    DEV_CHAIN_IDS,
    TOKEN_DECIMALS,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    BlockNumber,
    Bytes32,
    JobId,
    TxHash,
    Wei,
    tokens,
)
from chain.struct_methods import min_collateral_for, protocol_fee_for, reward_for

JOB_SPEC_LAYOUT: tuple[FieldLayout, ...] = tuple(f for f in JOB_LAYOUT if f.path[0] == "spec")
"""The `JobSpec` fields in ABI order, with their Solidity types and widths."""


@dataclass(frozen=True)
class ResultCommitment:
    """What a provider commits at submission: the result's CID and the Merkle root of its checkpoints."""

    result_digest: bytes
    checkpoint_root: bytes
    checkpoint_count: int
    result_codec: int = 0x55


@dataclass(frozen=True)
class Governance:
    """Who may change a deployed market: its governor (a timelock), the timelock's delay and roles, and the
    guardian who may pause new posts and claims."""

    timelock: ChecksumAddress
    min_delay: int  # seconds between scheduling a change and executing it
    proposers: tuple[ChecksumAddress, ...]
    executors: tuple[ChecksumAddress, ...]
    guardian: ChecksumAddress

    def to_json(self) -> dict[str, Any]:
        return {
            "timelock": self.timelock,
            "minDelay": self.min_delay,
            "proposers": list(self.proposers),
            "executors": list(self.executors),
            "guardian": self.guardian,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Governance:
        return cls(
            timelock=to_checksum_address(data["timelock"]),
            min_delay=int(data["minDelay"]),
            proposers=tuple(to_checksum_address(a) for a in data["proposers"]),
            executors=tuple(to_checksum_address(a) for a in data["executors"]),
            guardian=to_checksum_address(data["guardian"]),
        )


@dataclass(frozen=True)
class Deployment:
    """Where the market and its token live on one chain, and what they were deployed with."""

    chain_id: int
    market: ChecksumAddress
    token: ChecksumAddress
    block_number: BlockNumber
    deployer: ChecksumAddress
    tx_hash: TxHash
    config: MarketConfig
    abi_hash: str
    treasury: ChecksumAddress | None = None
    governance: Governance | None = None  # absent in records written before governance existed
    key_release: ChecksumAddress | None = None  # KeyRelease (`market.keyRelease()`); absent in older records

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "market": self.market,
            "token": self.token,
            "blockNumber": self.block_number,
            "deployer": self.deployer,
            "txHash": self.tx_hash,
            "config": self.config.to_abi(),
            "abiHash": self.abi_hash,
            "treasury": self.treasury,
            "governance": self.governance.to_json() if self.governance else None,
            "keyRelease": self.key_release,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        treasury = data.get("treasury")
        governance = data.get("governance")
        return cls(
            chain_id=int(data["chainId"]),
            market=to_checksum_address(data["market"]),
            token=to_checksum_address(data["token"]),
            block_number=BlockNumber(int(data["blockNumber"])),
            deployer=to_checksum_address(data["deployer"]),
            tx_hash=TxHash(data["txHash"]),
            config=MarketConfig.from_abi(data["config"]),
            abi_hash=data["abiHash"],
            treasury=to_checksum_address(treasury) if treasury else None,
            governance=Governance.from_json(governance) if governance else None,
            key_release=to_checksum_address(data["keyRelease"]) if data.get("keyRelease") else None,
        )


def is_confidential(spec: JobSpec) -> bool:
    """Whether a job is confidential: its spec carries the requester's result key (docs/confidential.md)."""
    return any(spec.result_key)


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: where it landed and what it cost."""

    tx_hash: TxHash
    block_number: BlockNumber
    gas_used: int
    effective_gas_price: Wei
    logs: tuple[Mapping[str, Any], ...] = ()

    @property
    def fee(self) -> Wei:
        return Wei(self.gas_used * self.effective_gas_price)


__all__ = [
    "DEV_CHAIN_IDS",
    "FINAL_ROUND",
    "JOB_LAYOUT",
    "JOB_SIZE",
    "JOB_SPEC_LAYOUT",
    "JOB_SPEC_OFFSET",
    "JOB_SPEC_SIZE",
    "JOB_STATE_OFFSET",
    "JOB_STATE_SIZE",
    "JOB_WORD_HASH_SHIFT",
    "JOB_WORD_STATUS_SHIFT",
    "MAX_COMMITTEE_SIZE",
    "MAX_REOPENS",
    "MAX_VERIFY_BLOCKS",
    "ROUND_1_SEATS",
    "ROUND_2_SEATS",
    "TOKEN_DECIMALS",
    "ZERO_ADDRESS",
    "ZERO_BYTES32",
    "AbiStruct",
    "Account",
    "AccountFields",
    "BlockNumber",
    "Bytes32",
    "Capabilities",
    "CapabilitiesFields",
    "Capability",
    "Deployment",
    "Evidence",
    "FieldLayout",
    "Governance",
    "Job",
    "JobId",
    "JobSpec",
    "JobSpecField",
    "JobSpecFields",
    "JobState",
    "JobStateFields",
    "JobStatus",
    "MarketConfig",
    "Outcome",
    "ReleaseReason",
    "ResultCommitment",
    "Role",
    "TxHash",
    "TxResult",
    "VerificationMode",
    "VerificationModeName",
    "VoteReason",
    "Wei",
    "enum_label",
    "is_confidential",
    "min_collateral_for",
    "protocol_fee_for",
    "reward_for",
    "tokens",
]
