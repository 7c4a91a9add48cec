"""What a job needs against what a provider offers: the rules a provider applies before it claims, and a
requester before it posts.

The contract compares the same five capabilities at claim (`_checkCapabilities`), in this order; a
provider also compares the budget per hour of runTimeout with its price floor (by default the
`pricePerHour` it registered). Numbers only: each side words its reasons for its own reader (the provider
about "this node", the requester about "every registered provider").

A skip reason travels as a `SkipReason`: the sentence, with its `SkipKind`, the short label a requester
reads when providers report why they skip a job ("image not present", "busy", ...).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from chain.types import Capabilities, JobSpec

__all__ = [
    "RESOURCES",
    "Gap",
    "Needs",
    "Resource",
    "SkipKind",
    "SkipReason",
    "budget_for",
    "budget_per_hour",
    "capability_gap",
    "kind_of",
    "largest",
]


class SkipKind(enum.StrEnum):
    """Why a provider skips a job, in a few words (the label of a group of skip reports)."""

    OWN_JOB = "posted by the provider's own account"
    GPUS = "not enough GPUs"
    GPU_MEMORY = "not enough GPU memory"
    GPU_CLASS = "GPU class too low"
    CPU_CORES = "not enough CPU cores"
    MEMORY = "not enough memory"
    PRICE = "pays below its price"
    STAKE = "stake below the minimum"
    COLLATERAL = "not enough free stake"
    BUSY = "busy"
    BUNDLE = "bundle unavailable"
    IMAGE_ABSENT = "image not present"
    IMAGE_DIGEST = "image digest differs"
    ENGINE = "container engine down"
    RISKY = "risky"
    FAILED_BEFORE = "failed there before"
    CLAIM_REFUSED = "claim refused"
    OTHER = "other"


class SkipReason(str):
    """A reason to skip a job, in words a provider can act on, that also knows its `SkipKind`.

    A `str`, so that logs, joins and comparisons treat it as the sentence it is."""

    kind: SkipKind

    def __new__(cls, text: str, kind: SkipKind) -> SkipReason:
        reason = super().__new__(cls, text)
        reason.kind = kind
        return reason


def kind_of(reason: str) -> SkipKind:
    """The kind of a skip reason (`OTHER` for a plain sentence)."""
    return reason.kind if isinstance(reason, SkipReason) else SkipKind.OTHER


@dataclass(frozen=True)
class Resource:
    """One capability the contract compares at claim."""

    key: str
    """The attribute of `Capabilities` and `Needs`."""
    noun: str
    """What it is, in a sentence: `memory`, `CPU cores`."""
    unit: str
    """After a number: ` MiB`, or nothing."""
    shortfall: str
    """The provider's words when it has too little: `too little memory`."""
    kind: SkipKind

    def amount(self, value: int) -> str:
        """`1,048,576 MiB of memory`, `2 GPUs`, `GPU class 8`, `4 CPU cores`."""
        if self.key == "gpu_class":
            return f"GPU class {value}"
        if self.unit:
            return f"{value:,}{self.unit} of {self.noun}"
        return f"{value:,} {self.noun}"


RESOURCES: tuple[Resource, ...] = (
    Resource("gpu_count", "GPUs", "", "too few GPUs", SkipKind.GPUS),
    Resource("gpu_memory_mib", "GPU memory", " MiB", "too little GPU memory", SkipKind.GPU_MEMORY),
    Resource("gpu_class", "GPU class", "", "GPU class too low", SkipKind.GPU_CLASS),
    Resource("cpu_cores", "CPU cores", "", "too few CPU cores", SkipKind.CPU_CORES),
    Resource("memory_mib", "memory", " MiB", "too little memory", SkipKind.MEMORY),
)
"""In the order the contract compares them."""


@dataclass(frozen=True)
class Needs:
    """A job's minimum capabilities, as its spec posts them (CPU cores rounded up)."""

    gpu_count: int = 0
    gpu_memory_mib: int = 0
    gpu_class: int = 0
    cpu_cores: int = 0
    memory_mib: int = 0

    @classmethod
    def of_spec(cls, spec: JobSpec) -> Needs:
        return cls(spec.gpu_count, spec.gpu_memory_mib, spec.gpu_class, spec.cpu_cores, spec.memory_mib)


@dataclass(frozen=True)
class Gap:
    """The first capability a provider lacks for a job."""

    resource: Resource
    needed: int
    offered: int


def capability_gap(needs: Needs, capabilities: Capabilities) -> Gap | None:
    """The first capability (in the contract's order) where `capabilities` fall short of `needs`.

    As the contract does, GPU memory and class are compared even for a job asking no GPU."""
    for resource in RESOURCES:
        needed, offered = getattr(needs, resource.key), getattr(capabilities, resource.key)
        if needed > offered:
            return Gap(resource, needed, offered)
    return None


def largest(resource: Resource, offers: Iterable[Capabilities]) -> int:
    """The most of `resource` any of `offers` gives (0 when there are none)."""
    return max((getattr(caps, resource.key) for caps in offers), default=0)


def budget_per_hour(spec: JobSpec) -> int:
    """What the job pays per hour of its run timeout, in base units (rounded down)."""
    return spec.budget * 3600 // max(1, spec.run_timeout)


def budget_for(price_per_hour: int, run_timeout: int) -> int:
    """The least budget whose `budget_per_hour` over `run_timeout` seconds meets `price_per_hour`."""
    return -(-price_per_hour * max(1, run_timeout) // 3600)
