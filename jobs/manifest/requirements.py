"""What a job posts on chain: `JobRequirements`, the `JobSpec` numbers of docs/protocol.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.types import VerificationMode

if TYPE_CHECKING:
    from jobs.manifest.model import Manifest


@dataclass(frozen=True)
class JobRequirements:
    """The on-chain requirement numbers of a job.

    Attribute names are exactly the `JobSpec` field names in docs/protocol.md so that the chain client can
    pass them through without a translation table.
    """

    gpuCount: int
    gpuMemoryMiB: int
    gpuClass: int
    cpuCores: int
    memoryMiB: int
    runTimeout: int
    mode: VerificationMode
    committeeSize: int
    samplesPerValidator: int


def requirements_of(manifest: Manifest) -> JobRequirements:
    """The numbers `manifest` posts on chain; `Manifest.to_requirements` and `to_requirements` give this."""
    resources, verification = manifest.resources, manifest.verification
    return JobRequirements(
        gpuCount=resources.gpus,
        gpuMemoryMiB=resources.gpu_memory_mib,
        gpuClass=resources.gpu_class,
        cpuCores=math.ceil(resources.cpus),
        memoryMiB=resources.memory_mib,
        runTimeout=resources.timeout_s,
        mode=VerificationMode[verification.mode.upper()],
        committeeSize=verification.committee_size,
        samplesPerValidator=verification.samples_per_validator or 0,
    )


def to_requirements(manifest: Manifest) -> JobRequirements:
    """The on-chain requirement numbers of `manifest` (same as `manifest.to_requirements()`)."""
    return manifest.to_requirements()
