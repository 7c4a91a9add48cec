"""The job manifest: `job.toml` at the root of a bundle, validated with pydantic.

A manifest states what a job needs (runtime image, resources), how its work is verified, and where its
outputs land. `load_manifest` turns TOML into a frozen `Manifest` or raises `ManifestError`, whose problems
each name the field path, the value given and what is allowed, e.g.
``resources.gpu_memory_mib: -1 is not allowed; must be >= 0``.
`Manifest.to_requirements` gives the numbers a job posts on chain (`JobSpec` in docs/protocol.md).

The modules: `errors` (problems and the error), `fields` (field types and their checks), `sections` (the
tables of `job.toml`), `model` (`Manifest` and its cross-section rules), `loading` (TOML in, schema out),
`requirements` (the on-chain numbers).
"""

from jobs.manifest.errors import MISSING, REDACTED, ManifestError, ManifestProblem
from jobs.manifest.fields import TOKEN_DECIMALS, Slug, TokenAmount
from jobs.manifest.loading import (
    MANIFEST_FILENAME,
    MAX_MANIFEST_BYTES,
    load_manifest,
    manifest_json_schema,
    validate_manifest,
)
from jobs.manifest.model import Manifest
from jobs.manifest.requirements import JobRequirements, VerificationMode, to_requirements
from jobs.manifest.sections import (
    SEALED_PAYLOAD,
    SEALED_SCHEME,
    Outputs,
    PaymentHints,
    PaymentUnits,
    Resources,
    Runtime,
    Sealed,
    Verification,
)

__all__ = [
    "MANIFEST_FILENAME",
    "MAX_MANIFEST_BYTES",
    "MISSING",
    "REDACTED",
    "SEALED_PAYLOAD",
    "SEALED_SCHEME",
    "TOKEN_DECIMALS",
    "JobRequirements",
    "Manifest",
    "ManifestError",
    "ManifestProblem",
    "Outputs",
    "PaymentHints",
    "PaymentUnits",
    "Resources",
    "Runtime",
    "Sealed",
    "Slug",
    "TokenAmount",
    "Verification",
    "VerificationMode",
    "load_manifest",
    "manifest_json_schema",
    "to_requirements",
    "validate_manifest",
]
