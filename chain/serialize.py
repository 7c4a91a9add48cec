"""Plain-JSON views of chain values for `--json` output: bytes as hex, enums by name, dataclasses as dicts."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from chain.types import enum_label


def to_jsonable(value: Any) -> Any:
    """Recursively turn chain values into what `json.dumps` takes; big ints stay ints (JSON has no limit)."""
    if isinstance(value, enum.IntEnum):
        return enum_label(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
