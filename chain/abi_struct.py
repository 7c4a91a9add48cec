"""What the generated struct views are made of: the ABI conversion mixin and the field layout record.

Structs convert to and from the ABI's dict form (`to_abi()` / `from_abi()`) with Solidity's field names,
which each generated field carries in its metadata (`abi=...`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_type_hints

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address


def enum_label(member: enum.IntEnum) -> str:
    """`JobStatus.CLAIMED` -> `Claimed`, the spelling of the Solidity enum member."""
    return "".join(part.capitalize() for part in member.name.split("_"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


@dataclass(frozen=True)
class FieldLayout:
    """One field of a flattened struct's ABI encoding (one 32-byte word each)."""

    path: tuple[str, ...]  # Solidity names from the root struct, e.g. ("spec", "budget")
    name: str  # the Python field name, e.g. "budget"
    abi_name: str  # the Solidity field name, e.g. "gpuMemoryMiB"
    sol_type: str  # "uint96", "address", or an enum's name
    abi_type: str  # what the ABI encodes it as ("uint8" for enums)
    bits: int  # width of the value
    offset: int  # byte offset of its word in the encoding

    @property
    def max_value(self) -> int:
        """The largest value an unsigned field can hold."""
        return (1 << self.bits) - 1


T = TypeVar("T", bound="AbiStruct")


class AbiStruct:
    """Mixin for frozen dataclasses that mirror a Solidity struct.

    Field names map to Solidity by a field's metadata `abi=...`, else by camelCase.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @classmethod
    @functools.cache
    def _abi_fields(cls) -> tuple[tuple[str, str, Any], ...]:
        hints = get_type_hints(cls)
        return tuple(
            (f.name, f.metadata.get("abi", _camel(f.name)), hints[f.name]) for f in dataclasses.fields(cls)
        )

    def to_abi(self) -> dict[str, Any]:
        """The struct as the ABI codec takes it: Solidity names, enums as ints, nested structs as dicts."""
        out: dict[str, Any] = {}
        for name, abi_name, _ in self._abi_fields():
            value = getattr(self, name)
            if isinstance(value, AbiStruct):
                value = value.to_abi()
            elif isinstance(value, enum.IntEnum):
                value = int(value)
            out[abi_name] = value
        return out

    @classmethod
    def from_abi(cls: type[T], data: Mapping[str, Any] | tuple[Any, ...]) -> T:
        """Build from a decoded struct (a dict by Solidity names, or a tuple in declaration order)."""
        specs = cls._abi_fields()
        if not isinstance(data, Mapping):
            data = {abi_name: v for (_, abi_name, _), v in zip(specs, data, strict=True)}
        kwargs = {name: _convert(hint, data[abi_name]) for name, abi_name, hint in specs}
        return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    base = getattr(hint, "__supertype__", hint)
    if isinstance(base, type):
        if issubclass(base, AbiStruct):
            return base.from_abi(value)
        if issubclass(base, enum.IntEnum):
            return base(value)
        if issubclass(base, bool):
            return bool(value)
        if issubclass(base, bytes):
            return bytes(value)
        if issubclass(base, int):
            return int(value)
    if hint is ChecksumAddress or base is str:
        return to_checksum_address(value) if _looks_like_address(value) else value
    return value


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _looks_like_address(value: Any) -> bool:
    return isinstance(value, str) and bool(_ADDRESS.match(value))
