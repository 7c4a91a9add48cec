"""The manifest's field types: the patterns and checks behind image names, digests, env, paths, amounts.

Each check raises `ManifestError` with the field path left empty (or relative, e.g. `[2]`); pydantic
reports where the field sits and `loading` joins the two into the full dotted path.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from jobs.manifest.errors import REDACTED, ManifestError, ManifestProblem

TOKEN_DECIMALS = 18  # CrowdToken is a plain ERC20: 18 decimals

# The largest values of the Solidity integer types the contracts keep these numbers in.
UINT8 = 2**8 - 1
UINT16 = 2**16 - 1
UINT32 = 2**32 - 1
UINT96 = 2**96 - 1

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r":[\w][\w.-]{0,127}$",
    re.ASCII,
)
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
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
    if not IMAGE_RE.match(value):
        raise ManifestError.single(
            "",
            value,
            "must be an image name with a tag, e.g. 'python:3.11-slim' or 'ghcr.io/org/trainer:1.2'",
        )
    return value


def _check_digest(value: str) -> str:
    if not DIGEST_RE.match(value):
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
    if amount * 10**TOKEN_DECIMALS > UINT96:
        raise ManifestError.single(
            "", value, f"must be at most {Decimal(UINT96) / 10**TOKEN_DECIMALS} tokens (uint96 on chain)"
        )
    return amount


Slug = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": _SLUG.pattern}),
    AfterValidator(_check_slug),
]
TokenAmount = Annotated[Decimal, BeforeValidator(_to_token_amount)]
ImageName = Annotated[str, AfterValidator(_check_image)]
ImageDigest = Annotated[str, AfterValidator(_check_digest)]
Argv = Annotated[list[str], AfterValidator(_check_entrypoint)]
EnvVars = Annotated[dict[str, str], AfterValidator(_check_env)]
OutputPath = Annotated[str, AfterValidator(_check_output_path)]
