"""`Manifest`, a validated `job.toml`: its sections and the rules that tie one section to another."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from jobs.manifest.errors import MISSING, REDACTED, ManifestError, ManifestProblem
from jobs.manifest.fields import Slug
from jobs.manifest.requirements import JobRequirements, requirements_of
from jobs.manifest.sections import (
    Outputs,
    PaymentHints,
    Resources,
    Runtime,
    Sealed,
    Section,
    Verification,
)


class Manifest(Section):
    """A validated `job.toml`."""

    model_config = ConfigDict(
        title="crowdcompute job manifest (job.toml)",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    manifest_version: Literal[1] = Field(default=1, description="format version of this file")
    name: Slug = Field(description="a slug: lowercase letters and digits joined by single hyphens")
    description: str = Field(default="", max_length=4096)
    runtime: Runtime
    resources: Resources
    verification: Verification
    outputs: Outputs
    payment: PaymentHints | None = None
    sealed: Sealed | None = Field(
        default=None, description="present in a confidential job's public manifest (docs/confidential.md)"
    )

    @model_validator(mode="after")
    def _check_across_sections(self) -> Manifest:
        problems: list[ManifestProblem] = []
        resources, verification = self.resources, self.verification
        if resources.gpus == 0:
            for name in ("gpu_memory_mib", "gpu_class"):
                value = getattr(resources, name)
                if value != 0:
                    problems.append(
                        ManifestProblem(f"resources.{name}", value, "must be 0 when resources.gpus is 0")
                    )
        if resources.gpus > 0 and verification.mode == "segments":
            needs = (
                "when resources.gpus > 0 and verification.mode is 'segments' (GPU training is not bit-exact)"
            )
            if verification.tolerance is None:
                problems.append(
                    ManifestProblem("verification.tolerance", MISSING, f"missing; required (> 0) {needs}")
                )
            elif verification.tolerance == 0:
                problems.append(
                    ManifestProblem("verification.tolerance", verification.tolerance, f"must be > 0 {needs}")
                )
        if self.outputs.max_size_mib > resources.disk_mib:
            problems.append(
                ManifestProblem(
                    "outputs.max_size_mib",
                    self.outputs.max_size_mib,
                    f"must be <= resources.disk_mib ({resources.disk_mib})",
                )
            )
        payment = self.payment
        if payment is not None and payment.collateral is not None and payment.validator_fee is not None:
            needed = verification.committee_size * payment.validator_fee
            if payment.collateral < needed:
                problems.append(
                    ManifestProblem(
                        "payment.collateral",
                        _plain(payment.collateral),
                        "must be >= verification.committee_size x payment.validator_fee = "
                        f"{verification.committee_size} x {_plain(payment.validator_fee)} = {_plain(needed)}",
                    )
                )
        if self.sealed is not None:
            problems.extend(_sealed_leaks(self))
        if problems:
            raise ManifestError(problems)
        return self

    def to_requirements(self) -> JobRequirements:
        """The numbers this job posts on chain (see `JobRequirements`)."""
        return requirements_of(self)


def _sealed_leaks(manifest: Manifest) -> list[ManifestProblem]:
    """A public manifest of a sealed job must not carry what the sealed payload keeps secret."""
    why = "must be absent when [sealed] is present: the public manifest is readable by anyone"
    problems = []
    if manifest.description:
        problems.append(ManifestProblem("description", manifest.description, why))
    if manifest.runtime.env:
        problems.append(ManifestProblem("runtime.env", REDACTED, why))
    return problems


def _plain(amount: Decimal) -> str:
    """A token amount as people write it: no exponent, no trailing zeros."""
    return format(amount.normalize(), "f")
