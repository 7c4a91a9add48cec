"""Whether this node should take a job, and which of the acceptable jobs first.

Pure functions over the job's spec (from its JobPosted event), its manifest (from its bundle) and what the
node offers now. Each check returns the reason for skipping in words a provider can act on, or None.
The chain checks the same capabilities at claim; checking first saves a reverted transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from eth_utils import keccak

from chain import Capabilities, JobId, JobSpec
from cli_support import token_amount
from jobs.executors import ImageRef
from jobs.manifest import Manifest
from jobs.matching import Needs, SkipKind, SkipReason, budget_per_hour, capability_gap

__all__ = [
    "ImageCheck",
    "Offer",
    "budget_per_hour",
    "check_fit",
    "check_manifest",
    "check_room",
    "check_spec",
    "rank",
    "risk_reasons",
]

ImageCheck = Callable[[ImageRef], str | None]
"""Returns why the pinned image cannot run here (absent, other digest; a `SkipReason` to say which), or
None when it can."""


@dataclass(frozen=True)
class Offer:
    """What this node can give right now."""

    address: str
    capabilities: Capabilities
    price_floor: int
    """Least budget per hour of runTimeout the node accepts, in token base units."""
    stake: int
    free_stake: int
    min_stake: int
    active_jobs: int
    capacity: int


def _capability_gap(needs: Needs, caps: Capabilities) -> SkipReason | None:
    gap = capability_gap(needs, caps)
    if gap is None:
        return None
    unit = gap.resource.unit
    text = f"{gap.resource.shortfall}: needs {gap.needed}{unit}, this node offers {gap.offered}{unit}"
    return SkipReason(text, gap.resource.kind)


def check_fit(spec: JobSpec, offer: Offer) -> SkipReason | None:
    """Reasons that do not change while the node runs: who posted it, capabilities, price."""
    if spec.requester.lower() == offer.address.lower():
        return SkipReason(
            "posted by this node's own account (the market forbids claiming it)", SkipKind.OWN_JOB
        )
    gap = _capability_gap(Needs.of_spec(spec), offer.capabilities)
    if gap is not None:
        return gap
    pays = budget_per_hour(spec)
    if pays < offer.price_floor:
        return SkipReason(
            f"price below this node's floor: pays {token_amount(pays)} per hour of runTimeout "
            f"(budget {token_amount(spec.budget)} over {spec.run_timeout} s); "
            f"the floor is {token_amount(offer.price_floor)} per hour",
            SkipKind.PRICE,
        )
    return None


def check_room(spec: JobSpec, offer: Offer) -> SkipReason | None:
    """Reasons that pass with time: stake below the minimum, collateral above the free stake, no free slot."""
    if offer.stake < offer.min_stake:
        return SkipReason(
            f"stake below the providers' minimum: {token_amount(offer.stake)} staked, "
            f"{token_amount(offer.min_stake)} needed",
            SkipKind.STAKE,
        )
    if spec.collateral > offer.free_stake:
        return SkipReason(
            f"not enough free stake for the collateral: {token_amount(spec.collateral)} needed, "
            f"{token_amount(offer.free_stake)} free",
            SkipKind.COLLATERAL,
        )
    if offer.active_jobs >= offer.capacity:
        return SkipReason(
            f"at capacity: {offer.active_jobs} of {offer.capacity} job slots busy", SkipKind.BUSY
        )
    return None


def check_spec(spec: JobSpec, offer: Offer) -> SkipReason | None:
    """The first reason the job's on-chain spec rules it out for this node now."""
    return check_fit(spec, offer) or check_room(spec, offer)


def check_manifest(
    manifest: Manifest,
    offer: Offer,
    image_check: ImageCheck,
    gpu_check: Callable[[int], str | None] | None = None,
) -> str | None:
    """Reasons found in the bundle: resources beyond the node, GPUs it cannot hand to a container
    (`gpu_support`), or a runtime image it cannot run."""
    resources = manifest.resources
    needs = Needs(
        resources.gpus,
        resources.gpu_memory_mib,
        resources.gpu_class,
        math.ceil(resources.cpus),
        resources.memory_mib,
    )
    gap = _capability_gap(needs, offer.capabilities)
    if gap is not None:
        return SkipReason(f"the manifest asks more than the spec: {gap}", gap.kind)
    gpu_reason = gpu_check(resources.gpus) if gpu_check is not None and resources.gpus else None
    if gpu_reason is not None:
        return gpu_reason
    image = ImageRef(manifest.runtime.image, manifest.runtime.digest)
    return image_check(image)


def risk_reasons(manifest: Manifest, spec: JobSpec, submit_margin_s: int) -> list[str]:
    """Why this job might fail by its own fault or cost more than it pays; empty when it looks safe."""
    reasons = []
    timeout = manifest.resources.timeout_s
    if timeout + submit_margin_s > spec.run_timeout:
        reasons.append(
            f"it may run {timeout} s but must be submitted within {spec.run_timeout} s of the claim, "
            f"less {submit_margin_s} s to pack and submit (it will be stopped early)"
        )
    if spec.collateral > spec.budget:
        reasons.append(
            f"its collateral ({token_amount(spec.collateral)}) is more than it pays "
            f"({token_amount(spec.budget)})"
        )
    return reasons


def rank(
    jobs: Iterable[tuple[JobId, JobSpec]],
    address: str,
    *,
    tie_break: bool = True,
    keys: dict[JobId, bytes] | None = None,
) -> list[JobId]:
    """Job ids, best first: the highest pay per hour; equals ordered by a hash of (node, job).

    The hash keeps nodes with the same preferences from all racing for the same job: each sees the
    equally good jobs in its own order, so most claims do not collide. `keys` memoises the hashes.
    """
    node = bytes.fromhex(address.lower().removeprefix("0x"))
    memo = keys if keys is not None else {}

    def tie(job_id: JobId) -> bytes:
        if job_id not in memo:
            memo[job_id] = keccak(node + job_id.to_bytes(32, "big"))
        return memo[job_id]

    def key(item: tuple[JobId, JobSpec]) -> tuple[int, bytes | int]:
        job_id, spec = item
        return (-budget_per_hour(spec), tie(job_id) if tie_break else job_id)

    return [job_id for job_id, _ in sorted(jobs, key=key)]
