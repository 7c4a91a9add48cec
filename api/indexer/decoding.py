"""A fast path for decoding the market's event logs, for the indexer's catch-up rate.

Every market event has only static ABI parameters (uints, addresses, bools, bytes32, static structs), so
each value sits at a fixed 32-byte word and can be sliced out directly. `chain.abi` goes through eth_abi
and checksums every address (a keccak each), about 1 ms per `JobPosted`, which caps a catch-up near
1,000 events/s; slicing is ~30x faster. Events with any dynamic parameter still go to `chain.abi`.
Addresses come out lower-case (the index stores them so); otherwise the result equals `chain.abi`'s
(tests/api/test_decoding.py checks that on every market event).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chain import AbiEntry, ContractCodec, DecodedLog

Word = bytes
_Decoder = Callable[[Sequence[Word]], tuple[Any, int]]  # (value, words consumed)


def _hex(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(str(value).removeprefix("0x"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(str(value), 16)


def _word(decode: Callable[[Word], Any]) -> _Decoder:
    return lambda words: (decode(words[0]), 1)


def _signed(word: Word) -> int:
    return int.from_bytes(word, "big", signed=True)


def _decoder(param: AbiEntry) -> _Decoder | None:
    """A decoder for a static parameter, or None when it is dynamic (or a type this path leaves alone)."""
    kind: str = param["type"]
    if kind == "tuple":
        parts = [(str(c["name"]), _decoder(c)) for c in param["components"]]
        if any(d is None for _, d in parts):
            return None
        plan = [(name, d) for name, d in parts if d is not None]

        def decode_tuple(words: Sequence[Word]) -> tuple[Any, int]:
            out: dict[str, Any] = {}
            used = 0
            for name, d in plan:
                out[name], n = d(words[used:])
                used += n
            return out, used

        return decode_tuple
    if kind == "address":
        return _word(lambda w: "0x" + w[12:].hex())
    if kind == "bool":
        return _word(lambda w: w[31] != 0)
    if kind.startswith("uint") and kind[4:].isdigit():
        return _word(lambda w: int.from_bytes(w, "big"))
    if kind.startswith("int") and kind[3:].isdigit():
        return _word(_signed)
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])
        return _word(lambda w: w[:size])
    return None


class _EventPlan:
    def __init__(
        self,
        entry: AbiEntry,
        indexed: list[tuple[str, _Decoder]],
        plain: list[tuple[str, _Decoder]],
        order: list[str],
    ) -> None:
        self.name = str(entry["name"])
        self.indexed = indexed
        self.plain = plain
        self.order = order

    def decode(self, log: Mapping[str, Any]) -> DecodedLog | None:
        topics = log["topics"]
        data = _hex(log["data"])
        if len(topics) != len(self.indexed) + 1 or len(data) % 32:
            return None
        args: dict[str, Any] = {}
        for (name, decode), topic in zip(self.indexed, topics[1:], strict=True):
            args[name] = decode([_hex(topic)])[0]
        words = [data[i : i + 32] for i in range(0, len(data), 32)]
        used = 0
        try:
            for name, decode in self.plain:
                args[name], n = decode(words[used:])
                used += n
        except IndexError:  # fewer words than the event has: let chain.abi report it
            return None
        if used != len(words):
            return None
        return DecodedLog(
            name=self.name,
            args={name: args[name] for name in self.order},
            address=str(log["address"]),
            block_number=_int(log["blockNumber"]),
            log_index=_int(log["logIndex"]),
            tx_hash="0x" + _hex(log["transactionHash"]).hex(),
            block_hash="0x" + _hex(log["blockHash"]).hex(),
        )


def _plan(entry: AbiEntry) -> _EventPlan | None:
    indexed: list[tuple[str, _Decoder]] = []
    plain: list[tuple[str, _Decoder]] = []
    for param in entry.get("inputs", []):
        decoder = _decoder(param)
        if decoder is None:
            return None
        (indexed if param.get("indexed") else plain).append((str(param["name"]), decoder))
    return _EventPlan(entry, indexed, plain, [str(p["name"]) for p in entry.get("inputs", [])])


class FastEventCodec(ContractCodec):
    """`ContractCodec` whose `decode_log` slices static events directly (falls back to `chain.abi`)."""

    def __init__(self, abi: Sequence[AbiEntry]) -> None:
        super().__init__(abi)
        self._plans: dict[bytes, _EventPlan] = {}
        for topic, codec in self.events_by_topic.items():
            plan = _plan(codec.entry)
            if plan is not None:
                self._plans[topic] = plan

    def fast_path_events(self) -> set[str]:
        """Names of the events decoded by slicing."""
        return {plan.name for plan in self._plans.values()}

    def decode_log(self, log: Mapping[str, Any]) -> DecodedLog | None:
        topics = log.get("topics") or []
        if topics:
            plan = self._plans.get(_hex(topics[0]))
            if plan is not None:
                decoded = plan.decode(log)
                if decoded is not None:
                    return decoded
        return super().decode_log(log)
