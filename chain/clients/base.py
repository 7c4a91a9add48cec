"""What every contract client shares: views through eth_call, transactions through the shared sender."""

from __future__ import annotations

import copy
from typing import Any, Self

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.abi import ContractCodec, DecodedLog
from chain.errors import MissingKey
from chain.rpc import BlockId, Rpc
from chain.sender import TxSender
from chain.types import TxResult


class ContractClient:
    """One contract at `address`, acting as `account` (None: read-only)."""

    def __init__(
        self,
        rpc: Rpc,
        address: str,
        codec: ContractCodec,
        *,
        sender: TxSender | None = None,
        account: LocalAccount | None = None,
    ) -> None:
        self.rpc = rpc
        self.address: ChecksumAddress = to_checksum_address(address)
        self.codec = codec
        self.sender = sender or TxSender(rpc)
        self.account = account

    def with_account(self, account: LocalAccount) -> Self:
        """The same client acting as another account (sender, caches and codec are shared)."""
        other = copy.copy(self)
        other.account = account
        return other

    @property
    def signer(self) -> LocalAccount:
        if self.account is None:
            raise MissingKey(f"{type(self).__name__} has no signing account: use with_account()")
        return self.account

    @property
    def me(self) -> ChecksumAddress:
        return to_checksum_address(self.signer.address)

    def call(self, function: str, *args: Any, block: BlockId = "latest") -> Any:
        fn = self.codec.function(function)
        request: dict[str, Any] = {"to": self.address, "data": fn.encode(*args)}
        if self.account is not None:
            request["from"] = self.account.address
        return fn.decode_output(self.rpc.call(request, block))

    def transact(
        self, function: str, *args: Any, gas: int | None = None
    ) -> tuple[TxResult, list[DecodedLog]]:
        """Send `function(args)` as the client's account; the receipt and this contract's decoded events."""
        data = self.codec.function(function).encode(*args)
        result = self.sender.transact(self.signer, self.address, data, gas=gas)
        return result, self.decode_events(result)

    def decode_events(self, result: TxResult) -> list[DecodedLog]:
        events = []
        for log in result.logs:
            if to_checksum_address(log["address"]) != self.address:
                continue
            event = self.codec.decode_log(log)
            if event is not None:
                events.append(event)
        return events


def first(events: list[DecodedLog], name: str) -> DecodedLog:
    """The first event called `name`; its absence means the contract does not behave as specified."""
    for event in events:
        if event.name == name:
            return event
    raise LookupError(f"the transaction emitted no {name} event")
