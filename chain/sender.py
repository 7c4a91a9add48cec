"""A transaction sender that many threads can share.

Per account: a lock and a locally tracked nonce (read once from the node, resynced when the node says
"nonce too low"), so concurrent sends from one account never leave a gap or reuse a nonce. Gas is explicit
(estimate x margin, and the estimate is where a revert is caught and decoded before anything is signed),
fees are EIP-1559 (cached for a second), and receipts are polled every ~20 ms.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from chain.errors import ContractRevert, NonceTooLow, RpcError, RpcUnreachable, TransactionTimeout
from chain.keys import ensure_key_allowed
from chain.rpc import Rpc
from chain.types import BlockNumber, TxHash, TxResult, Wei

log = logging.getLogger(__name__)

_NONCE_RETRIES = 3


@dataclass(frozen=True)
class PendingTx:
    """A transaction the node accepted; `TxSender.wait` turns it into a `TxResult`."""

    tx_hash: TxHash
    sender: str
    nonce: int
    request: dict[str, Any]


@dataclass
class _AccountState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_nonce: int | None = None
    checked: bool = False


class TxSender:
    """Signs, sends and waits for transactions; see the module docstring for the guarantees."""

    def __init__(
        self,
        rpc: Rpc,
        *,
        gas_margin: float = 1.2,
        poll_interval: float = 0.02,
        timeout: float = 120.0,
        fee_ttl: float = 1.0,
    ) -> None:
        self.rpc = rpc
        self.gas_margin = gas_margin
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.fee_ttl = fee_ttl
        self._accounts: dict[str, _AccountState] = {}
        self._accounts_lock = threading.Lock()
        self._fees: tuple[float, int, int] | None = None
        self._fees_lock = threading.Lock()

    def _state(self, address: str) -> _AccountState:
        with self._accounts_lock:
            return self._accounts.setdefault(address, _AccountState())

    def reset_nonces(self) -> None:
        """Forget every tracked nonce (after `evm_revert`, or when another process shares the accounts)."""
        with self._accounts_lock:
            for state in self._accounts.values():
                with state.lock:
                    state.next_nonce = None

    def fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): twice the latest base fee plus the tip, cached briefly."""
        with self._fees_lock:
            now = time.monotonic()
            if self._fees is None or now - self._fees[0] > self.fee_ttl:
                base_fee = int(self.rpc.get_block("latest").get("baseFeePerGas", "0x0"), 16)
                tip = self.rpc.max_priority_fee()
                self._fees = (now, 2 * base_fee + tip, tip)
            return self._fees[1], self._fees[2]

    def estimate(self, account: LocalAccount, to: str | None, data: bytes, value: int = 0) -> int:
        """Gas for the call with the margin applied; a revert raises the decoded `ContractRevert`."""
        request: dict[str, Any] = {"from": account.address, "data": data, "value": value}
        if to is not None:
            request["to"] = to
        return int(self.rpc.estimate_gas(request) * self.gas_margin)

    def send(
        self,
        account: LocalAccount,
        to: str | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
    ) -> PendingTx:
        """Sign and send without waiting; nonces stay ordered across threads."""
        state = self._state(account.address)
        if not state.checked:
            ensure_key_allowed(account.address, self.rpc.chain_id)
            state.checked = True
        gas_limit = gas if gas is not None else self.estimate(account, to, data, value)
        max_fee, tip = self.fees()
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.rpc.chain_id,
            "gas": gas_limit,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        with state.lock:
            for attempt in range(_NONCE_RETRIES):
                if state.next_nonce is None:
                    state.next_nonce = self.rpc.nonce(account.address, "pending")
                tx["nonce"] = state.next_nonce
                raw = account.sign_transaction(tx).raw_transaction
                try:
                    tx_hash = self.rpc.send_raw_transaction(bytes(raw))
                except NonceTooLow:
                    log.info(
                        "nonce %d of %s was taken; resyncing (try %d)", tx["nonce"], account.address, attempt
                    )
                    state.next_nonce = None
                    continue
                except (RpcError, RpcUnreachable):
                    # The node may or may not hold the transaction: ask it for the nonce next time.
                    state.next_nonce = None
                    raise
                state.next_nonce += 1
                request = {
                    "from": account.address,
                    "to": tx.get("to"),
                    "data": data,
                    "value": value,
                    "gas": gas_limit,
                }
                return PendingTx(TxHash(tx_hash), account.address, tx["nonce"], request)
        raise NonceTooLow(
            "eth_sendRawTransaction", -1, f"no free nonce for {account.address} after resyncing"
        )

    def wait(self, pending: PendingTx, timeout: float | None = None) -> TxResult:
        """Poll for the receipt; a reverted transaction raises `ContractRevert` with the replayed reason."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            receipt = self.rpc.receipt(pending.tx_hash)
            if receipt is not None and receipt.get("blockNumber"):
                break
            if time.monotonic() > deadline:
                raise TransactionTimeout(pending.tx_hash, limit)
            time.sleep(self.poll_interval)
        result = TxResult(
            tx_hash=pending.tx_hash,
            block_number=BlockNumber(int(receipt["blockNumber"], 16)),
            gas_used=int(receipt["gasUsed"], 16),
            effective_gas_price=Wei(int(receipt.get("effectiveGasPrice", "0x0"), 16)),
            logs=tuple(receipt.get("logs", ())),
        )
        if int(receipt["status"], 16) != 1:
            raise self._revert_reason(pending, result)
        return result

    def transact(
        self,
        account: LocalAccount,
        to: str | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
    ) -> TxResult:
        """Send and wait for the receipt."""
        return self.wait(self.send(account, to, data, value=value, gas=gas))

    def contract_address(self, result: TxResult) -> str:
        receipt = self.rpc.receipt(result.tx_hash)
        if not receipt or not receipt.get("contractAddress"):
            raise RpcError("eth_getTransactionReceipt", -1, f"{result.tx_hash} created no contract")
        return to_checksum_address(receipt["contractAddress"])

    def _revert_reason(self, pending: PendingTx, result: TxResult) -> ContractRevert:
        request = {k: v for k, v in pending.request.items() if v is not None}
        try:
            # The parent block reproduces the revert unless an earlier transaction in the block caused it.
            self.rpc.call(request, result.block_number - 1)
        except ContractRevert as exc:
            exc.tx_hash = pending.tx_hash
            return exc
        except RpcError as exc:
            log.debug("replaying %s failed without revert data: %s", pending.tx_hash, exc)
        out_of_gas = result.gas_used >= int(pending.request["gas"])
        reason = "it ran out of gas" if out_of_gas else "replaying it did not reproduce the revert"
        return ContractRevert(
            "Unknown",
            {"txHash": pending.tx_hash, "gasUsed": result.gas_used},
            f"transaction {pending.tx_hash} reverted: {reason}",
            tx_hash=pending.tx_hash,
        )
