"""The CROWD token: balances, allowances, transfers, and EIP-2612 permits signed locally."""

from __future__ import annotations

import functools
import logging
from typing import Any

from eth_abi.exceptions import DecodingError
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.clients.base import ContractClient
from chain.errors import ChainError
from chain.results import Permit
from chain.types import ZERO_ADDRESS, TxResult, Wei

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}
log = logging.getLogger(__name__)

_DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


class TokenClient(ContractClient):
    """ERC20 + ERC20Permit at `address`."""

    def balance_of(self, owner: str | None = None) -> Wei:
        return Wei(self.call("balanceOf", owner or self.me))

    def allowance(self, owner: str, spender: str) -> Wei:
        return Wei(self.call("allowance", owner, spender))

    def total_supply(self) -> Wei:
        return Wei(self.call("totalSupply"))

    def cap(self) -> Wei:
        return Wei(self.call("cap"))

    @functools.cached_property
    def symbol(self) -> str:
        return str(self.call("symbol"))

    @functools.cached_property
    def name(self) -> str:
        return str(self.call("name"))

    def nonces(self, owner: str) -> int:
        return int(self.call("nonces", owner))

    def approve(self, spender: str, amount: int) -> TxResult:
        """Set `spender`'s allowance over this account's tokens to `amount` (replacing the current one)."""
        tx, _ = self.transact("approve", spender, amount)
        return tx

    def ensure_allowance(self, spender: str, amount: int) -> TxResult | None:
        """Approve exactly `amount` unless the allowance already covers it."""
        if self.allowance(self.me, spender) >= amount:
            return None
        return self.approve(spender, amount)

    @functools.cached_property
    def supports_permit(self) -> bool:
        """Whether the token takes EIP-2612 permits that this client can sign: it answers `nonces` and its
        EIP-712 domain (ERC-5267). Asked once per token; a token lacking either gets approvals instead."""
        try:
            self._eip712_domain  # noqa: B018 (read, and cached, for the domain of every permit)
            self.call("nonces", ZERO_ADDRESS)
        except (ChainError, DecodingError) as exc:  # a revert, or no return data to decode
            log.info("the token at %s takes no permits (%s)", self.address, exc)
            return False
        return True

    def transfer(self, to: str, amount: int) -> TxResult:
        tx, _ = self.transact("transfer", to, amount)
        return tx

    def domain(self) -> dict[str, Any]:
        """The EIP-712 domain, read from the token itself (ERC-5267) so name and version never drift."""
        _fields, name, version, chain_id, verifying_contract, _salt, _ext = self._eip712_domain
        return {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifying_contract),
        }

    @functools.cached_property
    def _eip712_domain(self) -> tuple[Any, ...]:
        result: tuple[Any, ...] = self.call("eip712Domain")
        return result

    def sign_permit(
        self,
        spender: str,
        value: int,
        *,
        owner: LocalAccount | None = None,
        deadline: int | None = None,
        nonce: int | None = None,
    ) -> Permit:
        """Sign an EIP-2612 permit for `spender` to take `value` from `owner` (default: this account)."""
        signer = owner or self.signer
        owner_address: ChecksumAddress = to_checksum_address(signer.address)
        # Chain time, not wall time: a dev chain's clock may run ahead after evm_increaseTime.
        deadline = deadline if deadline is not None else int(self.rpc.get_block()["timestamp"], 16) + 3600
        message = {
            "owner": owner_address,
            "spender": to_checksum_address(spender),
            "value": value,
            "nonce": self.nonces(owner_address) if nonce is None else nonce,
            "deadline": deadline,
        }
        typed = {
            "types": {"EIP712Domain": _DOMAIN_TYPES, **PERMIT_TYPES},
            "primaryType": "Permit",
            "domain": self.domain(),
            "message": message,
        }
        signed = signer.sign_message(encode_typed_data(full_message=typed))
        return Permit(
            owner=owner_address,
            spender=to_checksum_address(spender),
            value=Wei(value),
            deadline=deadline,
            v=signed.v,
            r=signed.r.to_bytes(32, "big"),
            s=signed.s.to_bytes(32, "big"),
        )
