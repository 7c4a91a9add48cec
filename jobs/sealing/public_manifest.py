"""The public `job.toml` of a sealed bundle: the requester's manifest without `description` and
`[runtime] env`, plus the `[sealed]` table (docs/confidential.md, "Bundle layout").

Written from the parsed manifest by a small TOML writer that covers what a manifest holds (strings,
numbers, booleans, lists of those, one level of tables); the result is read back and validated before
use, so a value the writer cannot express fails here, not at a provider. Comments are not kept: they
could say as much as the description.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from jobs.manifest import MANIFEST_FILENAME, Manifest, load_manifest
from jobs.sealing.errors import SealingError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
PRIVATE_TOP_LEVEL = ("description",)
PRIVATE_RUNTIME = ("env",)


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item, where) for item in value) + "]"
    raise SealingError(
        f"{MANIFEST_FILENAME}: {where} holds a {type(value).__name__}, which a sealed manifest cannot carry"
    )


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML for a mapping of scalars and one level of tables."""
    lines = [f"{_key(k)} = {_value(v, k)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for name, table in data.items():
        if not isinstance(table, Mapping):
            continue
        lines.append("")
        lines.append(f"[{_key(name)}]")
        for key, value in table.items():
            if isinstance(value, Mapping):
                raise SealingError(
                    f"{MANIFEST_FILENAME}: {name}.{key} is a nested table; not expected in a manifest"
                )
            lines.append(f"{_key(key)} = {_value(value, f'{name}.{key}')}")
    return "\n".join(lines) + "\n"


def public_manifest(raw: bytes, sealed: Mapping[str, str]) -> tuple[str, Manifest]:
    """The public `job.toml` text for the requester's manifest `raw`, and that text validated."""
    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    if "sealed" in data:
        raise SealingError(
            f"{MANIFEST_FILENAME} already has a [sealed] table: seal the requester's own job folder,"
            " not a sealed bundle"
        )
    for name in PRIVATE_TOP_LEVEL:
        data.pop(name, None)
    runtime = data.get("runtime")
    if isinstance(runtime, dict):
        for name in PRIVATE_RUNTIME:
            runtime.pop(name, None)
    data["sealed"] = dict(sealed)
    text = to_toml(data)
    return text, load_manifest(text.encode("utf-8"))
