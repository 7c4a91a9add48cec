"""A small ABI codec over eth_abi: call data, return values, event logs and custom errors, structs as dicts.

It is driven by the compiled ABI (struct field order comes from the compiler, not from Python), and it is
much cheaper per call than web3's contract objects, which matters for the sender's throughput.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

AbiEntry = Mapping[str, Any]


def type_string(param: AbiEntry) -> str:
    """The canonical type of one ABI parameter: tuples spelled out as `(t1,t2,...)`, array suffixes kept."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(type_string(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: AbiEntry) -> str:
    """`name(type,...)`, the text hashed into selectors and event topics."""
    return f"{entry['name']}({','.join(type_string(p) for p in entry.get('inputs', []))})"


def _to_abi_value(param: AbiEntry, value: Any) -> Any:
    """Turn dicts (struct fields by name) into the tuples eth_abi expects, recursively."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        if kind != "tuple":
            element = {**param, "type": kind[: kind.rindex("[")]}
            return [_to_abi_value(element, v) for v in value]
        components = param["components"]
        if isinstance(value, Mapping):
            return tuple(_to_abi_value(c, value[c["name"]]) for c in components)
        return tuple(_to_abi_value(c, v) for c, v in zip(components, value, strict=True))
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_to_abi_value(element, v) for v in value]
    if kind == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if kind.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


def _from_abi_value(param: AbiEntry, value: Any) -> Any:
    """Turn decoded tuples back into dicts keyed by component name; checksum addresses."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        if kind != "tuple":
            element = {**param, "type": kind[: kind.rindex("[")]}
            return [_from_abi_value(element, v) for v in value]
        return {c["name"]: _from_abi_value(c, v) for c, v in zip(param["components"], value, strict=True)}
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_from_abi_value(element, v) for v in value]
    if kind == "address":
        return to_checksum_address(value)
    return value


def encode_params(params: Sequence[AbiEntry], values: Sequence[Any]) -> bytes:
    """ABI-encode `values` (dicts allowed for structs) as the parameter list `params`."""
    if len(params) != len(values):
        raise TypeError(f"expected {len(params)} values, got {len(values)}")
    types = [type_string(p) for p in params]
    return abi_encode(types, [_to_abi_value(p, v) for p, v in zip(params, values, strict=True)])


def decode_params(params: Sequence[AbiEntry], data: bytes) -> list[Any]:
    """ABI-decode `data` as the parameter list `params`; structs become dicts."""
    types = [type_string(p) for p in params]
    values = abi_decode(types, data)
    return [_from_abi_value(p, v) for p, v in zip(params, values, strict=True)]


@dataclass(frozen=True)
class FunctionCodec:
    """One contract function: its selector and how to encode arguments and decode results."""

    entry: AbiEntry
    selector: bytes

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    def encode(self, *args: Any) -> bytes:
        return self.selector + encode_params(self.entry.get("inputs", []), args)

    def decode_output(self, data: bytes) -> Any:
        """The return value: a single value as itself, several as a tuple."""
        outputs = self.entry.get("outputs", [])
        values = decode_params(outputs, data)
        if len(values) == 1:
            return values[0]
        return tuple(values)


@dataclass(frozen=True)
class DecodedLog:
    """One event log decoded against the ABI, with its position in the chain."""

    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    log_index: int
    tx_hash: str
    block_hash: str

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


def _hex_to_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def _hex_to_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16)


def _hex_str(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)


@dataclass(frozen=True)
class EventCodec:
    """One event: its topic and how to decode a raw log into named arguments."""

    entry: AbiEntry
    topic: bytes

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    def decode(self, log: Mapping[str, Any]) -> DecodedLog:
        inputs = self.entry.get("inputs", [])
        topics = [_hex_to_bytes(t) for t in log["topics"]]
        indexed = [p for p in inputs if p.get("indexed")]
        plain = [p for p in inputs if not p.get("indexed")]
        args: dict[str, Any] = {}
        for param, topic in zip(indexed, topics[1:], strict=True):
            # Indexed dynamic values are stored as their hash; ours are all static words.
            args[param["name"]] = decode_params([param], topic)[0]
        for param, value in zip(plain, decode_params(plain, _hex_to_bytes(log["data"])), strict=True):
            args[param["name"]] = value
        ordered = {p["name"]: args[p["name"]] for p in inputs}
        return DecodedLog(
            name=self.name,
            args=ordered,
            address=to_checksum_address(log["address"]),
            block_number=_hex_to_int(log["blockNumber"]),
            log_index=_hex_to_int(log["logIndex"]),
            tx_hash=_hex_str(log["transactionHash"]),
            block_hash=_hex_str(log["blockHash"]),
        )


@dataclass(frozen=True)
class ErrorCodec:
    """One custom error: its selector and how to decode its fields."""

    entry: AbiEntry
    selector: bytes

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    def decode(self, data: bytes) -> dict[str, Any]:
        inputs = self.entry.get("inputs", [])
        values = decode_params(inputs, data[4:])
        return {p["name"] or f"arg{i}": v for i, (p, v) in enumerate(zip(inputs, values, strict=True))}


class ContractCodec:
    """Every function, event and error of one ABI, looked up by name, selector or topic."""

    def __init__(self, abi: Iterable[AbiEntry]) -> None:
        self.abi: list[AbiEntry] = list(abi)
        self.functions: dict[str, FunctionCodec] = {}
        self.events: dict[str, EventCodec] = {}
        self.events_by_topic: dict[bytes, EventCodec] = {}
        self.errors: dict[bytes, ErrorCodec] = {}
        for entry in self.abi:
            kind = entry.get("type")
            if kind == "function":
                fn = FunctionCodec(entry, keccak(text=signature(entry))[:4])
                # Overloads are reachable by full signature; the bare name keeps the first one.
                self.functions.setdefault(fn.name, fn)
                self.functions[signature(entry)] = fn
            elif kind == "event" and not entry.get("anonymous"):
                ev = EventCodec(entry, keccak(text=signature(entry)))
                self.events[ev.name] = ev
                self.events_by_topic[ev.topic] = ev
            elif kind == "error":
                err = ErrorCodec(entry, keccak(text=signature(entry))[:4])
                self.errors[err.selector] = err

    def function(self, name: str) -> FunctionCodec:
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"the ABI has no function {name!r}") from None

    def event(self, name: str) -> EventCodec:
        try:
            return self.events[name]
        except KeyError:
            raise KeyError(f"the ABI has no event {name!r}") from None

    def function_inputs(self, name: str) -> list[AbiEntry]:
        return list(self.function(name).entry.get("inputs", []))

    def decode_log(self, log: Mapping[str, Any]) -> DecodedLog | None:
        """Decode a log if its first topic is one of this ABI's events, else None."""
        topics = log.get("topics") or []
        if not topics:
            return None
        codec = self.events_by_topic.get(_hex_to_bytes(topics[0]))
        return codec.decode(log) if codec else None
