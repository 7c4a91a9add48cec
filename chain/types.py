"""Typed mirrors of the contracts' enums and structs, and the typed results of client calls.

Structs convert to and from the ABI's dict form (`to_abi()` / `from_abi()`), field names as in Solidity;
the field order on the wire comes from the compiled ABI, not from these classes.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NewType, TypeVar, get_type_hints

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

JobId = NewType("JobId", int)
Wei = NewType("Wei", int)
BlockNumber = NewType("BlockNumber", int)
Bytes32 = NewType("Bytes32", bytes)
TxHash = NewType("TxHash", str)

ZERO_ADDRESS = ChecksumAddress(to_checksum_address("0x" + "00" * 20))
ZERO_BYTES32 = Bytes32(b"\x00" * 32)
TOKEN_DECIMALS = 18
DEV_CHAIN_IDS = frozenset({31337, 1337})


def tokens(amount: int | float | str) -> Wei:
    """Whole tokens to the smallest unit (18 decimals): `tokens(50)` is 50 CROWD."""
    from decimal import Decimal

    return Wei(int(Decimal(str(amount)) * 10**TOKEN_DECIMALS))


class JobStatus(enum.IntEnum):
    NONE = 0
    OPEN = 1
    CLAIMED = 2
    SUBMITTED = 3
    CLOSED = 4


class VerificationMode(enum.IntEnum):
    NONE = 0
    SEGMENTS = 1
    SHARDS = 2
    REPLICATE = 3


class Outcome(enum.IntEnum):
    ACCEPTED = 0
    REJECTED = 1
    UNVERIFIED = 2


class Capability(enum.IntEnum):
    GPU_COUNT = 0
    GPU_MEMORY = 1
    GPU_CLASS = 2
    CPU_CORES = 3
    MEMORY = 4


class Role(enum.IntEnum):
    NONE = 0
    PROVIDER = 1
    VALIDATOR = 2


class JobSpecField(enum.IntEnum):
    BUDGET = 0
    BUNDLE_DIGEST = 1
    COLLATERAL = 2
    RUN_TIMEOUT = 3
    COMMITTEE_SIZE = 4
    SAMPLES_PER_VALIDATOR = 5
    VERIFY_BLOCKS = 6


def enum_label(member: enum.IntEnum) -> str:
    """`JobStatus.CLAIMED` -> `Claimed`, the spelling of the Solidity enum member."""
    return "".join(part.capitalize() for part in member.name.split("_"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


T = TypeVar("T", bound="AbiStruct")


class AbiStruct:
    """Mixin for frozen dataclasses that mirror a Solidity struct.

    Field names map to Solidity by camelCase unless a field's metadata says `abi=...`.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @classmethod
    @functools.cache
    def _abi_fields(cls) -> tuple[tuple[str, str, Any], ...]:
        hints = get_type_hints(cls)
        return tuple(
            (f.name, f.metadata.get("abi", _camel(f.name)), hints[f.name]) for f in dataclasses.fields(cls)
        )

    def to_abi(self) -> dict[str, Any]:
        """The struct as the ABI codec takes it: Solidity names, enums as ints, nested structs as dicts."""
        out: dict[str, Any] = {}
        for name, abi_name, _ in self._abi_fields():
            value = getattr(self, name)
            if isinstance(value, AbiStruct):
                value = value.to_abi()
            elif isinstance(value, enum.IntEnum):
                value = int(value)
            out[abi_name] = value
        return out

    @classmethod
    def from_abi(cls: type[T], data: Mapping[str, Any] | tuple[Any, ...]) -> T:
        """Build from a decoded struct (a dict by Solidity names, or a tuple in declaration order)."""
        specs = cls._abi_fields()
        if not isinstance(data, Mapping):
            data = {abi_name: v for (_, abi_name, _), v in zip(specs, data, strict=True)}
        kwargs = {name: _convert(hint, data[abi_name]) for name, abi_name, hint in specs}
        return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    base = getattr(hint, "__supertype__", hint)
    if isinstance(base, type):
        if issubclass(base, AbiStruct):
            return base.from_abi(value)
        if issubclass(base, enum.IntEnum):
            return base(value)
        if issubclass(base, bool):
            return bool(value)
        if issubclass(base, bytes):
            return bytes(value)
        if issubclass(base, int):
            return int(value)
    if hint is ChecksumAddress or base is str:
        return to_checksum_address(value) if _looks_like_address(value) else value
    return value


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _looks_like_address(value: Any) -> bool:
    return isinstance(value, str) and bool(_ADDRESS.match(value))


@dataclass(frozen=True)
class JobSpec(AbiStruct):
    """What a requester asks for; immutable once posted (the contract fills in requester and reward)."""

    budget: Wei
    bundle_digest: bytes
    collateral: Wei
    run_timeout: int
    requester: ChecksumAddress = ZERO_ADDRESS
    bundle_codec: int = 0x55
    gpu_count: int = 0
    gpu_memory_mib: int = field(default=0, metadata={"abi": "gpuMemoryMiB"})
    gpu_class: int = 0
    cpu_cores: int = 0
    memory_mib: int = field(default=0, metadata={"abi": "memoryMiB"})
    mode: VerificationMode = VerificationMode.SEGMENTS
    committee_size: int = 0
    samples_per_validator: int = 0
    verify_blocks: int = 1
    validator_fee: Wei = Wei(0)
    reward: Wei = Wei(0)
    reopen_on_failure: bool = False

    @property
    def escrow(self) -> Wei:
        """What the requester pays at post: the budget plus every committee member's fee."""
        return Wei(self.budget + self.committee_size * self.validator_fee)


@dataclass(frozen=True)
class JobState(AbiStruct):
    """The part of a job that each transition changes."""

    provider: ChecksumAddress = ZERO_ADDRESS
    deadline: int = 0
    submit_block: BlockNumber = BlockNumber(0)
    validator_count: int = 0
    attempts: int = 0
    result_hash: bytes = ZERO_BYTES32


@dataclass(frozen=True)
class Job(AbiStruct):
    """The pair every job call passes as calldata."""

    spec: JobSpec
    state: JobState = JobState()


@dataclass(frozen=True)
class Capabilities(AbiStruct):
    """What a provider offers; a job's minimums are checked against it at claim."""

    gpu_count: int = 0
    gpu_memory_mib: int = field(default=0, metadata={"abi": "gpuMemoryMiB"})
    gpu_class: int = 0
    cpu_cores: int = 0
    memory_mib: int = field(default=0, metadata={"abi": "memoryMiB"})
    price_per_hour: Wei = Wei(0)


@dataclass(frozen=True)
class Evidence(AbiStruct):
    """What a validator re-ran and found, recorded in the VoteCast event only."""

    segment: int = 0
    committed_digest: bytes = ZERO_BYTES32
    recomputed_digest: bytes = ZERO_BYTES32


@dataclass(frozen=True)
class Account(AbiStruct):
    """An account's role, stake and balances as the market holds them."""

    role: Role
    stake: Wei
    locked: Wei
    unbonding: Wei
    unbonding_release_at: int
    balance: Wei
    reward_owed: Wei

    @property
    def free_stake(self) -> Wei:
        return Wei(self.stake - self.locked)


@dataclass(frozen=True)
class MarketConfig(AbiStruct):
    """Deploy-time parameters of the market."""

    unbonding_delay: int
    min_provider_stake: Wei
    min_validator_stake: Wei
    validator_slash: Wei
    reward_bps: int


@dataclass(frozen=True)
class ResultCommitment:
    """What a provider commits at submission: the result's CID and the Merkle root of its checkpoints."""

    result_digest: bytes
    checkpoint_root: bytes
    checkpoint_count: int
    result_codec: int = 0x55


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
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        treasury = data.get("treasury")
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
        )


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
