"""A manifest and a bundle CID to the on-chain `JobSpec`, with the dApp's defaults and checks.

The rules mirror frontend/src/lib/jobSpec.ts (`formFromManifest`, `checkSpecForm`, `buildJobSpec`), so a
job posted from the CLI and one posted from the dApp with untouched form fields get the same spec.
Amounts here are base units (18 decimals); the manifest's `[payment]` hints are whole tokens.
"""

from __future__ import annotations

from chain.revert_messages import token_amount
from chain.types import JobSpec, VerificationMode, Wei, tokens
from crowdcompute.requester.errors import InvalidSpec
from jobs.cid import Cid
from jobs.manifest import Manifest

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_COLLATERAL",
    "DEFAULT_VALIDATOR_FEE",
    "DEFAULT_VERIFY_BLOCKS",
    "MAX_COMMITTEE",
    "MAX_RUN_TIMEOUT",
    "MAX_SAMPLES",
    "MAX_VERIFY_BLOCKS",
    "job_spec_for",
]

# The dApp's form defaults, used where the manifest gives no `[payment]` hint.
DEFAULT_BUDGET = tokens(10)
DEFAULT_VALIDATOR_FEE = tokens(1)
DEFAULT_COLLATERAL = tokens(5)
DEFAULT_VERIFY_BLOCKS = 20

# The contract's limits (SPEC_LIMITS in frontend/src/lib/contracts.ts).
MAX_COMMITTEE = 8
MAX_VERIFY_BLOCKS = 240
MAX_RUN_TIMEOUT = 2**32 - 1
MAX_SAMPLES = 255
MAX_AMOUNT = 2**96 - 1

_MODES = {
    "none": VerificationMode.NONE,
    "segments": VerificationMode.SEGMENTS,
    "shards": VerificationMode.SHARDS,
    "replicate": VerificationMode.REPLICATE,
}


def job_spec_for(
    manifest: Manifest,
    bundle_cid: Cid,
    *,
    budget: int | None = None,
    collateral: int | None = None,
    validator_fee: int | None = None,
    verify_blocks: int | None = None,
    run_timeout: int | None = None,
    reopen_on_failure: bool = True,
) -> JobSpec:
    """The spec `postJob` takes for `manifest`, its bundle at `bundle_cid`.

    Each amount is, in order: the argument (base units), the manifest's `[payment]` hint, the dApp's
    default. Raises `InvalidSpec` naming the field when a value breaks a rule the contract enforces, so
    nothing that would revert gets signed.
    """
    hints = manifest.payment.in_base_units() if manifest.payment is not None else None
    verification = manifest.verification
    mode = _MODES[verification.mode]
    chosen_budget = _first(budget, hints.budget if hints else None, DEFAULT_BUDGET)
    chosen_fee = _first(validator_fee, hints.validatorFee if hints else None, DEFAULT_VALIDATOR_FEE)
    chosen_collateral = _first(collateral, hints.collateral if hints else None, DEFAULT_COLLATERAL)
    timeout = _first(run_timeout, manifest.resources.timeout_s)
    blocks = _first(verify_blocks, verification.verify_blocks, DEFAULT_VERIFY_BLOCKS)
    committee = verification.committee_size
    default_samples = 0 if mode in (VerificationMode.REPLICATE, VerificationMode.NONE) else 1
    samples = _first(verification.samples_per_validator, default_samples)

    for name, amount in (
        ("budget", chosen_budget),
        ("validator_fee", chosen_fee),
        ("collateral", chosen_collateral),
    ):
        if not 0 <= amount <= MAX_AMOUNT:
            raise InvalidSpec(name, f"{amount} base units is outside 0..2^96-1 (a uint96 on chain)")
    if chosen_budget == 0:
        raise InvalidSpec("budget", "must be more than 0 tokens; pass a budget (e.g. --budget 10)")
    _check_range("run_timeout", timeout, 1, MAX_RUN_TIMEOUT, "seconds")
    needs_committee = mode is not VerificationMode.NONE
    _check_range("committee_size", committee, 1 if needs_committee else 0, MAX_COMMITTEE, "validators")
    needs_samples = mode in (VerificationMode.SEGMENTS, VerificationMode.SHARDS)
    _check_range("samples_per_validator", samples, 1 if needs_samples else 0, MAX_SAMPLES, "samples")
    _check_range("verify_blocks", blocks, 1, MAX_VERIFY_BLOCKS, "blocks")
    fees = committee * chosen_fee
    if chosen_collateral < fees:
        raise InvalidSpec(
            "collateral",
            f"{token_amount(chosen_collateral)} does not cover the committee's fees: committee_size x "
            f"validator_fee = {committee} x {token_amount(chosen_fee)} = {token_amount(fees)}; "
            "raise the collateral or lower the validator fee",
        )

    requirements = manifest.to_requirements()
    digest, codec = bundle_cid.to_chain()
    return JobSpec(
        budget=Wei(chosen_budget),
        bundle_digest=digest,
        bundle_codec=codec,
        collateral=Wei(chosen_collateral),
        run_timeout=timeout,
        gpu_count=requirements.gpuCount,
        gpu_memory_mib=requirements.gpuMemoryMiB,
        gpu_class=requirements.gpuClass,
        cpu_cores=requirements.cpuCores,
        memory_mib=requirements.memoryMiB,
        mode=mode,
        committee_size=committee,
        samples_per_validator=samples,
        verify_blocks=blocks,
        validator_fee=Wei(chosen_fee),
        reopen_on_failure=reopen_on_failure,
    )


def _first(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last candidate is always a default")


def _check_range(field: str, value: int, low: int, high: int, unit: str) -> None:
    if not low <= value <= high:
        raise InvalidSpec(field, f"{value} {unit} is outside {low}..{high}, the range postJob accepts")
