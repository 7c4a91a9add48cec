"""Reading a manifest: `load_manifest` (TOML bytes, file or job folder), `validate_manifest` (parsed data),
`manifest_json_schema`; pydantic's errors become `ManifestProblem`s that people can act on."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from jobs.manifest.errors import MISSING, ManifestError, ManifestProblem
from jobs.manifest.model import Manifest
from jobs.manifest.sections import Outputs, PaymentHints, Resources, Runtime, Sealed, Verification

MANIFEST_FILENAME = "job.toml"
MAX_MANIFEST_BYTES = 1024 * 1024

_SECTION_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Manifest,
    ("runtime",): Runtime,
    ("resources",): Resources,
    ("verification",): Verification,
    ("outputs",): Outputs,
    ("payment",): PaymentHints,
    ("sealed",): Sealed,
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


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of a manifest (validation side), as the gateway serves it."""
    return Manifest.model_json_schema(mode="validation")
