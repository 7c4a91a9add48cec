"""Revert data -> `ContractRevert`: the custom error found by selector across every compiled ABI, fields by
name, and a sentence a person can act on (templates in `chain.revert_messages`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from chain.abi import AbiEntry, ContractCodec, ErrorCodec
from chain.errors import ContractRevert
from chain.revert_messages import describe

log = logging.getLogger(__name__)

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
PANIC_REASONS = {  # Solidity's panic codes, in words (the dApp's copy is generated from this)
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "bad storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


class RevertDecoder:
    """Knows every custom error of a set of ABIs, by its 4-byte selector."""

    def __init__(self, abis: Iterable[Iterable[AbiEntry]]) -> None:
        self.errors: dict[bytes, ErrorCodec] = {}
        for abi in abis:
            for selector, codec in ContractCodec(abi).errors.items():
                self.errors.setdefault(selector, codec)

    @classmethod
    def from_artifacts(cls) -> RevertDecoder:
        """A decoder over every contract compiled from `contracts/` (and the libraries they use)."""
        from chain.compiler import compile_contracts

        return cls(artifact.abi for artifact in compile_contracts())

    def decode(self, data: bytes, *, context: str = "", tx_hash: str | None = None) -> ContractRevert:
        """The `ContractRevert` for revert `data`; unknown data gives `error_name == "Unknown"`."""
        name, fields = self.decode_fields(data)
        if name == "Unknown":
            detail = f" ({context})" if context else ""
            message = f"reverted without a known error: 0x{data.hex() or ''}{detail}"
        else:
            message = describe(name, fields)
        return ContractRevert(name, fields, message, data=data, tx_hash=tx_hash)

    def decode_fields(self, data: bytes) -> tuple[str, dict[str, Any]]:
        selector = data[:4]
        try:
            if selector == _ERROR_STRING:
                return "Error", {"message": abi_decode(["string"], data[4:])[0]}
            if selector == _PANIC:
                code = abi_decode(["uint256"], data[4:])[0]
                return "Panic", {"code": code, "reason": PANIC_REASONS.get(code, "unknown panic")}
            codec = self.errors.get(selector)
            if codec is not None:
                return codec.name, codec.decode(data)
        except DecodingError:
            log.warning("revert data with selector 0x%s does not decode", selector.hex())
        return "Unknown", {"data": "0x" + data.hex()}
