"""A manifest and a bundle CID to the on-chain `JobSpec`, with the dApp's defaults and checks.

The rules mirror frontend/src/lib/jobSpec.ts (`formFromManifest`, `checkSpecForm`, `buildJobSpec`), so a
job posted from the CLI and one posted from the dApp with untouched form fields get the same spec.
Amounts here are base units (18 decimals); the manifest's `[payment]` hints are whole tokens.
"""

from __future__ import annotations

from chain import (
    JOB_SPEC_LAYOUT,
    MAX_COMMITTEE_SIZE,
    MAX_VERIFY_BLOCKS,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    JobSpec,
    JobSpecFields,
    VerificationMode,
    Wei,
    min_collateral_for,
    protocol_fee_for,
    tokens,
)
from cli_support import token_amount
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

# The contract's limits: its constants, and the widths of the fields (the generated job layout).
_WIDEST = {f.abi_name: f.max_value for f in JOB_SPEC_LAYOUT}
MAX_COMMITTEE = MAX_COMMITTEE_SIZE
MAX_RUN_TIMEOUT = _WIDEST["runTimeout"]
MAX_SAMPLES = _WIDEST["samplesPerValidator"]
MAX_AMOUNT = _WIDEST["budget"]


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
    result_key: bytes = ZERO_BYTES32,
    fee_bps: int = 0,
    min_collateral_bps: int = 0,
) -> JobSpec:
    """The spec `postJob` takes for `manifest`, its bundle at `bundle_cid`.

    Each amount is, in order: the argument (base units), the manifest's `[payment]` hint, the dApp's
    default. Raises `InvalidSpec` naming the field when a value breaks a rule the contract enforces, so
    nothing that would revert gets signed. `fee_bps` and `min_collateral_bps` are the market's (`config()`):
    the protocol fee is filled in as the contract will set it (so `escrow` is what the post pulls), and the
    default collateral is raised to the ratio's minimum for the budget. `result_key` is the requester's
    X25519 public key for a confidential job (docs/confidential.md); zero, the default, posts a clear job.
    """
    hints = manifest.payment.in_base_units() if manifest.payment is not None else None
    verification = manifest.verification
    mode = VerificationMode[verification.mode.upper()]
    chosen_budget = _first(budget, hints.budget if hints else None, DEFAULT_BUDGET)
    chosen_fee = _first(validator_fee, hints.validatorFee if hints else None, DEFAULT_VALIDATOR_FEE)
    chosen_collateral = _first(collateral, hints.collateral if hints else None, -1)
    timeout = _first(run_timeout, manifest.resources.timeout_s)
    blocks = _first(verify_blocks, verification.verify_blocks, DEFAULT_VERIFY_BLOCKS)
    # Mode none has no committee at all (the contract wants 0 seats); otherwise a side needs a strict
    # majority, so committees are odd.
    committee = verification.committee_size if mode is not VerificationMode.NONE else 0
    default_samples = 0 if mode in (VerificationMode.REPLICATE, VerificationMode.NONE) else 1
    samples = _first(verification.samples_per_validator, default_samples)

    fees = verification.committee_size * chosen_fee
    ratio = min_collateral_for(chosen_budget, min_collateral_bps)
    if chosen_collateral < 0:  # no choice made: the dApp's default, raised to the market's ratio
        chosen_collateral = max(DEFAULT_COLLATERAL, ratio)
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
    if needs_committee and committee % 2 == 0:
        raise InvalidSpec(
            "committee_size", f"{committee} is even; a side needs a strict majority, so use an odd size"
        )
    needs_samples = mode in (VerificationMode.SEGMENTS, VerificationMode.SHARDS)
    _check_range("samples_per_validator", samples, 1 if needs_samples else 0, MAX_SAMPLES, "samples")
    _check_range("verify_blocks", blocks, 1, MAX_VERIFY_BLOCKS, "blocks")
    if chosen_collateral < fees:
        raise InvalidSpec(
            "collateral",
            f"{token_amount(chosen_collateral)} does not cover the committee's fees: committee_size x "
            f"validator_fee = {committee} x {token_amount(chosen_fee)} = {token_amount(fees)}; "
            "raise the collateral or lower the validator fee",
        )
    if chosen_collateral < ratio:
        raise InvalidSpec(
            "collateral",
            f"{token_amount(chosen_collateral)} is below the market's minimum of "
            f"{min_collateral_bps / 100:g} % of the budget ({token_amount(ratio)}); "
            "raise the collateral or lower the budget",
        )

    requirements = manifest.to_requirements()
    digest, codec = bundle_cid.to_chain()
    # Every field decided here: a field added to JobSpec fails the type check on this literal.
    fields: JobSpecFields = {
        "requester": ZERO_ADDRESS,  # set by the contract
        "budget": Wei(chosen_budget),
        "bundle_digest": digest,
        "bundle_codec": codec,
        "gpu_count": requirements.gpuCount,
        "gpu_memory_mib": requirements.gpuMemoryMiB,
        "gpu_class": requirements.gpuClass,
        "cpu_cores": requirements.cpuCores,
        "memory_mib": requirements.memoryMiB,
        "collateral": Wei(chosen_collateral),
        "run_timeout": timeout,
        "mode": mode,
        "committee_size": committee,
        "samples_per_validator": samples,
        "verify_blocks": blocks,
        "validator_fee": Wei(chosen_fee),
        "reward": Wei(0),  # set by the contract
        "protocol_fee": protocol_fee_for(
            chosen_budget, fee_bps
        ),  # set by the contract; filled in for `escrow`
        "reopen_on_failure": reopen_on_failure,
        "result_key": result_key,
    }
    return JobSpec(**fields)


def _first(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last candidate is always a default")


def _check_range(field: str, value: int, low: int, high: int, unit: str) -> None:
    if not low <= value <= high:
        raise InvalidSpec(field, f"{value} {unit} is outside {low}..{high}, the range postJob accepts")
