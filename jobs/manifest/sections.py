"""The manifest's sections, one `[table]` of `job.toml` each: runtime, resources, verification, outputs,
payment, sealed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chain.types import VerificationModeName
from jobs.manifest.errors import MISSING, ManifestError, ManifestProblem
from jobs.manifest.fields import (
    DIGEST_RE,
    IMAGE_RE,
    TOKEN_DECIMALS,
    UINT8,
    UINT16,
    UINT32,
    Argv,
    EnvVars,
    ImageDigest,
    ImageName,
    OutputPath,
    TokenAmount,
)


class Section(BaseModel):
    # strict: TOML is typed, so "4" (a string) or true (a bool) where a number belongs is a mistake to report.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Runtime(Section):
    """The container the job runs in, pinned by digest so every provider and validator runs the same bytes."""

    image: ImageName = Field(
        max_length=255,
        description="image name with a tag, e.g. 'python:3.11-slim'",
        json_schema_extra={"pattern": IMAGE_RE.pattern},
    )
    digest: ImageDigest = Field(
        description="the image's sha256 digest, 'sha256:<64 hex>'",
        json_schema_extra={"pattern": DIGEST_RE.pattern},
    )
    entrypoint: Argv = Field(min_length=1, max_length=256, description="argv run in the container")
    env: EnvVars = Field(
        default_factory=dict, max_length=256, description="environment variables; public, so never secrets"
    )


class Resources(Section):
    """Minimum capabilities a provider must offer; the first five are checked on chain at claim."""

    gpus: int = Field(default=0, ge=0, le=UINT8, description="number of GPUs")
    gpu_memory_mib: int = Field(default=0, ge=0, le=UINT32, description="memory per GPU, MiB")
    gpu_class: int = Field(default=0, ge=0, le=UINT8, description="minimum GPU class (0..255)")
    cpus: float = Field(gt=0, le=UINT16, allow_inf_nan=False, description="CPU cores; rounded up on chain")
    memory_mib: int = Field(ge=1, le=UINT32, description="RAM, MiB")
    disk_mib: int = Field(ge=1, le=UINT32, description="scratch and output disk, MiB")
    timeout_s: int = Field(ge=1, le=UINT32, description="seconds from claim to the submit deadline")


class Verification(Section):
    """How validators check the work (DESIGN.md, "Verification")."""

    mode: VerificationModeName
    checkpoint_interval: int | None = Field(
        default=None, ge=1, le=UINT32, description="training steps per segment (mode 'segments')"
    )
    segments: int | None = Field(
        default=None, ge=1, le=UINT32, description="expected number of segments (mode 'segments')"
    )
    samples_per_validator: int | None = Field(
        default=None, ge=1, le=UINT8, description="segments or shards each validator re-runs"
    )
    committee_size: int = Field(default=3, ge=1, le=8, description="validators drawn to vote")
    tolerance: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="distance bound when comparing re-runs; exact when absent",
    )
    verify_blocks: int | None = Field(
        default=None, ge=1, le=240, description="voting window in blocks; the client's default when absent"
    )

    @model_validator(mode="after")
    def _check_mode_fields(self) -> Verification:
        problems: list[ManifestProblem] = []
        mode = self.mode
        if mode == "segments" and self.checkpoint_interval is None:
            problems.append(
                ManifestProblem("checkpoint_interval", MISSING, "missing; required when mode is 'segments'")
            )
        for name in ("checkpoint_interval", "segments"):
            value = getattr(self, name)
            if mode != "segments" and value is not None:
                problems.append(
                    ManifestProblem(name, value, f"only used with mode 'segments' (mode is {mode!r})")
                )
        if mode in ("segments", "shards") and self.samples_per_validator is None:
            problems.append(
                ManifestProblem(
                    "samples_per_validator", MISSING, f"missing; required (>= 1) with mode {mode!r}"
                )
            )
        if mode == "replicate" and self.samples_per_validator is not None:
            problems.append(
                ManifestProblem(
                    "samples_per_validator",
                    self.samples_per_validator,
                    "not used with mode 'replicate': each validator re-runs the whole job",
                )
            )
        if (
            mode == "segments"
            and self.segments is not None
            and self.samples_per_validator is not None
            and self.samples_per_validator > self.segments
        ):
            problems.append(
                ManifestProblem(
                    "samples_per_validator",
                    self.samples_per_validator,
                    f"must be <= verification.segments ({self.segments})",
                )
            )
        if problems:
            raise ManifestError(problems)
        return self


class Outputs(Section):
    """Where the job writes what it returns, relative to the job's output folder."""

    path: OutputPath = Field(
        default=".", max_length=1024, description="relative path inside the output folder"
    )
    max_size_mib: int = Field(ge=1, le=UINT32, description="largest result accepted, MiB")


class PaymentHints(Section):
    """Suggested token amounts (whole tokens, decimals allowed); the dApp or CLI may override them."""

    budget: TokenAmount | None = None
    collateral: TokenAmount | None = None
    validator_fee: TokenAmount | None = None

    def in_base_units(self) -> PaymentUnits:
        """The amounts in the token's smallest unit, as the contracts take them."""

        def units(amount: Decimal | None) -> int | None:
            return None if amount is None else int(amount.scaleb(TOKEN_DECIMALS))

        return PaymentUnits(units(self.budget), units(self.collateral), units(self.validator_fee))


SEALED_SCHEME = "crowdcompute-sealed-v1"
SEALED_PAYLOAD = "sealed.payload"
KEY_SALT_RE = re.compile(r"^[0-9a-f]{64}$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Sealed(Section):
    """A confidential job's public manifest (docs/confidential.md, "Bundle layout"): the rest is sealed."""

    scheme: Literal["crowdcompute-sealed-v1"] = Field(description="the sealing format")
    payload: Literal["sealed.payload"] = Field(
        description="the bundle member holding the sealed stream of the whole job folder"
    )
    key_salt: str = Field(
        description="64 lowercase hex digits: the content key's salt (HKDF of the requester's signature)",
        pattern=KEY_SALT_RE.pattern,
    )
    requester: str = Field(
        description="the requester's address (0x and 40 hex digits), whose keys open the payload",
        pattern=ADDRESS_RE.pattern,
    )


@dataclass(frozen=True)
class PaymentUnits:
    """Payment hints in base units (wei-like); None where the manifest gives no hint."""

    budget: int | None
    collateral: int | None
    validatorFee: int | None
