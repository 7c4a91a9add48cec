"""The job manifest: `job.toml` at the root of a bundle, validated with pydantic.

A manifest states what a job needs (runtime image, resources), how its work is verified, and where its
outputs land. `load_manifest` turns TOML into a frozen `Manifest` or raises `ManifestError`, whose problems
each name the field path, the value given and what is allowed, e.g.
``resources.gpu_memory_mib: -1 is not allowed; must be >= 0``.
`Manifest.to_requirements` gives the numbers a job posts on chain (`JobSpec` in docs/protocol.md).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from jobs.errors import JobsError

MANIFEST_FILENAME = "job.toml"
MAX_MANIFEST_BYTES = 1024 * 1024
TOKEN_DECIMALS = 18  # CrowdToken is a plain ERC20: 18 decimals

_UINT8 = 2**8 - 1
_UINT16 = 2**16 - 1
_UINT32 = 2**32 - 1
_UINT96 = 2**96 - 1


# --- errors -------------------------------------------------------------------------------------------


class _NoValue:
    """Stands in for the value of a problem that has none (a missing field, unparsable TOML)."""

    def __repr__(self) -> str:
        return "<missing>"


class _Redacted:
    """Stands in for a value that must not be echoed back (it looks like a secret)."""

    def __repr__(self) -> str:
        return "<redacted>"


MISSING: Any = _NoValue()
REDACTED: Any = _Redacted()

_MAX_VALUE_REPR = 80


class ManifestProblem(NamedTuple):
    """One thing wrong with a manifest: where (dotted field path), what was given, what is allowed."""

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.field}: {self.message}"
        shown = repr(self.value)
        if len(shown) > _MAX_VALUE_REPR:
            shown = shown[: _MAX_VALUE_REPR - 3] + "..."
        return f"{self.field}: {shown} is not allowed; {self.message}"


class ManifestError(JobsError, ValueError):
    """A manifest that cannot be accepted; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[ManifestProblem]) -> None:
        self.problems: list[ManifestProblem] = list(problems)
        super().__init__(self.problems)

    @classmethod
    def single(cls, field: str, value: object, message: str) -> ManifestError:
        return cls([ManifestProblem(field, value, message)])

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"the manifest has {len(self.problems)} problems:\n{lines}"


# --- field types ----------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r":[\w][\w.-]{0,127}$",
    re.ASCII,
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# A name whose `_`-separated words include one of these says that its value is a secret.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:SECRETS?|PASSW(?:OR)?D|TOKENS?|APIKEY|CREDENTIALS?|MNEMONIC|PRIVKEY|AUTH"
    r"|(?:API|ACCESS|PRIVATE|SECRET)_KEY)(?:_|$)"
)
_SECRET_VALUES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), "a Hugging Face token"),
    (re.compile(r"\b(?:ghp|gho|ghs|ghu)_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{30,}"), "a GitHub token"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), "an API secret key"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
)
_RESERVED_ENV_PREFIX = "CROWDCOMPUTE_"
_PUBLIC_NOTE = "the manifest is public (anyone with the bundle's CID can read it); pass secrets another way"


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ManifestError.single(
            "", value, "must be a slug: lowercase letters and digits, words joined by single hyphens"
        )
    return value


def _check_image(value: str) -> str:
    if "@" in value:
        raise ManifestError.single(
            "", value, "must be name:tag without a digest; put the digest in runtime.digest"
        )
    if not _IMAGE.match(value):
        raise ManifestError.single(
            "",
            value,
            "must be an image name with a tag, e.g. 'python:3.11-slim' or 'ghcr.io/org/trainer:1.2'",
        )
    return value


def _check_digest(value: str) -> str:
    if not _DIGEST.match(value):
        raise ManifestError.single("", value, "must be 'sha256:' followed by 64 lowercase hex digits")
    return value


def _check_entrypoint(value: list[str]) -> list[str]:
    problems = [
        ManifestProblem(f"[{index}]", arg, "must be a non-empty string without NUL characters")
        for index, arg in enumerate(value)
        if not arg or "\x00" in arg
    ]
    if problems:
        raise ManifestError(problems)
    return value


def _secret_kind(name: str, value: str) -> str | None:
    if _SECRET_NAME.search(name.upper()):
        return "name"
    for pattern, what in _SECRET_VALUES:
        if pattern.search(value):
            return what
    return None


def _check_env(value: dict[str, str]) -> dict[str, str]:
    problems: list[ManifestProblem] = []
    for name, text in value.items():
        if not _ENV_NAME.match(name):
            problems.append(
                ManifestProblem(
                    "", name, "variable names must be letters, digits and '_', not starting with a digit"
                )
            )
        elif name.upper().startswith(_RESERVED_ENV_PREFIX):
            problems.append(
                ManifestProblem(
                    "", name, f"names starting with {_RESERVED_ENV_PREFIX} are set by the executor"
                )
            )
        elif (kind := _secret_kind(name, text)) == "name":
            problems.append(ManifestProblem("", name, f"the name says it holds a secret; {_PUBLIC_NOTE}"))
        elif kind is not None:
            problems.append(ManifestProblem(name, REDACTED, f"the value looks like {kind}; {_PUBLIC_NOTE}"))
        elif "\x00" in text:
            problems.append(ManifestProblem(name, text, "must not contain a NUL character"))
    if problems:
        raise ManifestError(problems)
    return value


def _check_output_path(value: str) -> str:
    allowed = "must be a relative path inside the job's output folder ('.' for all of it)"
    if not value or value.startswith("/") or "\\" in value or _CONTROL.search(value):
        raise ManifestError.single("", value, allowed)
    parts = [part for part in value.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ManifestError.single("", value, f"{allowed}; '..' is not allowed")
    return "/".join(parts) or "."


def _to_token_amount(value: object) -> object:
    """Token amounts come as TOML integers, floats or decimal strings; keep them exact as `Decimal`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ManifestError.single("", value, 'must be a token amount, e.g. 100 or "12.5"')
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ManifestError.single("", value, 'must be a token amount, e.g. 100 or "12.5"') from None
    if not amount.is_finite() or amount < 0:
        raise ManifestError.single("", value, "must be a finite token amount >= 0")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > TOKEN_DECIMALS:
        raise ManifestError.single("", value, f"must have at most {TOKEN_DECIMALS} decimal places")
    if amount * 10**TOKEN_DECIMALS > _UINT96:
        raise ManifestError.single(
            "", value, f"must be at most {Decimal(_UINT96) / 10**TOKEN_DECIMALS} tokens (uint96 on chain)"
        )
    return amount


Slug = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": _SLUG.pattern}),
    AfterValidator(_check_slug),
]
TokenAmount = Annotated[Decimal, BeforeValidator(_to_token_amount)]


class VerificationMode(IntEnum):
    """`VerificationMode` in the contracts; the values are the Solidity enum's ordinals."""

    NONE = 0
    SEGMENTS = 1
    SHARDS = 2
    REPLICATE = 3


_MODE_BY_NAME = {
    "none": VerificationMode.NONE,
    "segments": VerificationMode.SEGMENTS,
    "shards": VerificationMode.SHARDS,
    "replicate": VerificationMode.REPLICATE,
}


# --- the model --------------------------------------------------------------------------------------


class _Section(BaseModel):
    # strict: TOML is typed, so "4" (a string) or true (a bool) where a number belongs is a mistake to report.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Runtime(_Section):
    """The container the job runs in, pinned by digest so every provider and validator runs the same bytes."""

    image: Annotated[str, AfterValidator(_check_image)] = Field(
        max_length=255,
        description="image name with a tag, e.g. 'python:3.11-slim'",
        json_schema_extra={"pattern": _IMAGE.pattern},
    )
    digest: Annotated[str, AfterValidator(_check_digest)] = Field(
        description="the image's sha256 digest, 'sha256:<64 hex>'",
        json_schema_extra={"pattern": _DIGEST.pattern},
    )
    entrypoint: Annotated[list[str], AfterValidator(_check_entrypoint)] = Field(
        min_length=1, max_length=256, description="argv run in the container"
    )
    env: Annotated[dict[str, str], AfterValidator(_check_env)] = Field(
        default_factory=dict, max_length=256, description="environment variables; public, so never secrets"
    )


class Resources(_Section):
    """Minimum capabilities a provider must offer; the first five are checked on chain at claim."""

    gpus: int = Field(default=0, ge=0, le=_UINT8, description="number of GPUs")
    gpu_memory_mib: int = Field(default=0, ge=0, le=_UINT32, description="memory per GPU, MiB")
    gpu_class: int = Field(default=0, ge=0, le=_UINT8, description="minimum GPU class (0..255)")
    cpus: float = Field(gt=0, le=_UINT16, allow_inf_nan=False, description="CPU cores; rounded up on chain")
    memory_mib: int = Field(ge=1, le=_UINT32, description="RAM, MiB")
    disk_mib: int = Field(ge=1, le=_UINT32, description="scratch and output disk, MiB")
    timeout_s: int = Field(ge=1, le=_UINT32, description="seconds from claim to the submit deadline")


class Verification(_Section):
    """How validators check the work (DESIGN.md, "Verification")."""

    mode: Literal["segments", "shards", "replicate", "none"]
    checkpoint_interval: int | None = Field(
        default=None, ge=1, le=_UINT32, description="training steps per segment (mode 'segments')"
    )
    segments: int | None = Field(
        default=None, ge=1, le=_UINT32, description="expected number of segments (mode 'segments')"
    )
    samples_per_validator: int | None = Field(
        default=None, ge=1, le=_UINT8, description="segments or shards each validator re-runs"
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


class Outputs(_Section):
    """Where the job writes what it returns, relative to the job's output folder."""

    path: Annotated[str, AfterValidator(_check_output_path)] = Field(
        default=".", max_length=1024, description="relative path inside the output folder"
    )
    max_size_mib: int = Field(ge=1, le=_UINT32, description="largest result accepted, MiB")


class PaymentHints(_Section):
    """Suggested token amounts (whole tokens, decimals allowed); the dApp or CLI may override them."""

    budget: TokenAmount | None = None
    collateral: TokenAmount | None = None
    validator_fee: TokenAmount | None = None

    def in_base_units(self) -> PaymentUnits:
        """The amounts in the token's smallest unit, as the contracts take them."""

        def units(amount: Decimal | None) -> int | None:
            return None if amount is None else int(amount.scaleb(TOKEN_DECIMALS))

        return PaymentUnits(units(self.budget), units(self.collateral), units(self.validator_fee))


@dataclass(frozen=True)
class PaymentUnits:
    """Payment hints in base units (wei-like); None where the manifest gives no hint."""

    budget: int | None
    collateral: int | None
    validatorFee: int | None


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


class Manifest(_Section):
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
        if problems:
            raise ManifestError(problems)
        return self

    def to_requirements(self) -> JobRequirements:
        """The numbers this job posts on chain (see `JobRequirements`)."""
        resources, verification = self.resources, self.verification
        return JobRequirements(
            gpuCount=resources.gpus,
            gpuMemoryMiB=resources.gpu_memory_mib,
            gpuClass=resources.gpu_class,
            cpuCores=math.ceil(resources.cpus),
            memoryMiB=resources.memory_mib,
            runTimeout=resources.timeout_s,
            mode=_MODE_BY_NAME[verification.mode],
            committeeSize=verification.committee_size,
            samplesPerValidator=verification.samples_per_validator or 0,
        )


def _plain(amount: Decimal) -> str:
    """A token amount as people write it: no exponent, no trailing zeros."""
    return format(amount.normalize(), "f")


# --- loading ------------------------------------------------------------------------------------------

_SECTION_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Manifest,
    ("runtime",): Runtime,
    ("resources",): Resources,
    ("verification",): Verification,
    ("outputs",): Outputs,
    ("payment",): PaymentHints,
}

_TYPE_MESSAGES = {
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
}


def _field_path(loc: Sequence[str | int], extra: str = "") -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    if extra:
        path += extra if extra.startswith("[") else (f".{extra}" if path else extra)
    return path or MANIFEST_FILENAME


def _message_for(error: Mapping[str, Any]) -> str:
    kind: str = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx", {})
    value = error.get("input")
    if kind in _TYPE_MESSAGES:
        expected = _TYPE_MESSAGES[kind]
        if kind in ("int_type", "float_type") and isinstance(value, str):
            expected += " (without quotes)"
        return expected
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        operator, key = bounds[kind]
        bound = ctx[key]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "> 0", not "> 0.0", for a float field
        return f"must be {operator} {bound}"
    if kind == "missing":
        return "missing; required"
    if kind == "literal_error":
        expected = str(ctx["expected"])
        return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must be at least {ctx['min_length']} characters"
        )
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must have at least {ctx['min_length']} items"
        )
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _problems_from(exc: ValidationError) -> list[ManifestProblem]:
    problems: list[ManifestProblem] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, ManifestError):
            for problem in cause.problems:
                problems.append(
                    ManifestProblem(_field_path(loc, problem.field), problem.value, problem.message)
                )
            continue
        if error["type"] == "extra_forbidden":
            model = _SECTION_MODELS.get(tuple(str(part) for part in loc[:-1]))
            allowed = ", ".join(model.model_fields) if model else "none"
            # no value: an unknown field is often a misplaced one, and could hold anything (a secret too)
            problems.append(ManifestProblem(_field_path(loc), MISSING, f"unknown field; allowed: {allowed}"))
            continue
        value = MISSING if error["type"] == "missing" else error.get("input")
        problems.append(ManifestProblem(_field_path(loc), value, _message_for(error)))
    return problems


def validate_manifest(data: Mapping[str, Any]) -> Manifest:
    """Validate already-parsed manifest data (from TOML or JSON); raises `ManifestError`."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        # `from None`: pydantic's own message repeats every input value, secrets included.
        raise ManifestError(_problems_from(exc)) from None


def load_manifest(source: bytes | str | os.PathLike[str]) -> Manifest:
    """Read and validate a manifest from `job.toml` bytes, a path to it, or a job folder holding it."""
    if isinstance(source, bytes):
        raw = source
    else:
        path = Path(source)
        if path.is_dir():
            path = path / MANIFEST_FILENAME
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            raise ManifestError.single(MANIFEST_FILENAME, MISSING, f"missing; no file at {path}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError.single(
            MANIFEST_FILENAME,
            MISSING,
            f"larger than {MAX_MANIFEST_BYTES // 1024} KiB; a manifest is a few lines",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError.single(
            MANIFEST_FILENAME, MISSING, f"not valid UTF-8 (byte {exc.start}); TOML files are UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError.single(MANIFEST_FILENAME, MISSING, f"not valid TOML: {exc}") from None
    return validate_manifest(data)


def to_requirements(manifest: Manifest) -> JobRequirements:
    """The on-chain requirement numbers of `manifest` (same as `manifest.to_requirements()`)."""
    return manifest.to_requirements()


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of a manifest (validation side), as the gateway serves it."""
    return Manifest.model_json_schema(mode="validation")
