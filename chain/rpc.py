"""A thin JSON-RPC layer over web3's HTTP provider: raw requests, revert data decoded, errors named.

Requests go out on one keep-alive session per thread, bypassing web3's formatting and middleware, which cost
more than the request itself on a local node. `Rpc.w3` (same URL) is there for everything else.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from web3 import HTTPProvider, Web3
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from chain.errors import ChainIdMismatch, ContractRevert, NonceTooLow, RpcError, RpcUnreachable
from chain.reverts import RevertDecoder

log = logging.getLogger(__name__)

BlockId = int | str
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_HEADERS = {"Content-Type": "application/json"}
_NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "nonce has already been used")


def _block_param(block: BlockId) -> str:
    return hex(block) if isinstance(block, int) else block


def _revert_data(error: Mapping[str, Any]) -> bytes | None:
    """The revert payload of a JSON-RPC error, in the shapes anvil, geth and hardhat use."""
    data = error.get("data")
    if isinstance(data, Mapping):
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    message = str(error.get("message", ""))
    if error.get("code") == 3 or "revert" in message.lower():
        return b""
    return None


class Rpc:
    """One node: JSON-RPC requests, errors turned into `chain` exceptions. Safe to share across threads."""

    def __init__(
        self, w3: Web3, *, decoder: RevertDecoder | None = None, url: str = "", timeout: float = 10.0
    ) -> None:
        self.w3 = w3
        self.url = url or str(getattr(w3.provider, "endpoint_uri", ""))
        self.timeout = timeout
        self._decoder = decoder
        self._chain_id: int | None = None
        self._ids = itertools.count(1)
        self._local = threading.local()
        # Proxy and netrc lookups cost ~1 ms a request; a node on this machine never needs them.
        self._trust_env = urlsplit(self.url).hostname not in _LOOPBACK

    def _session(self) -> requests.Session:
        """One keep-alive session per thread (requests sessions are not thread-safe)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = self._trust_env
            # Connection attempts are safe to retry (nothing was sent); reads are not.
            retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.05)
            session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=4))
            session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=4))
            self._local.session = session
        return session

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        expected_chain_id: int | None = None,
        timeout: float = 10.0,
        decoder: RevertDecoder | None = None,
    ) -> Rpc:
        """Check the node answers (`RpcUnreachable`) and serves the expected chain (`ChainIdMismatch`)."""
        provider = HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=(requests.ConnectionError, requests.Timeout), retries=2, backoff_factor=0.05
            ),
        )
        rpc = cls(Web3(provider), decoder=decoder, url=url, timeout=timeout)
        chain_id = rpc.chain_id
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainIdMismatch(expected_chain_id, chain_id, url)
        return rpc

    @property
    def decoder(self) -> RevertDecoder:
        if self._decoder is None:
            self._decoder = RevertDecoder.from_artifacts()
        return self._decoder

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Send one request; node errors raise `RpcError`, or `ContractRevert` when they carry revert data."""
        payload = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        response = self._post(method, payload)
        if not isinstance(response, Mapping):
            raise RpcError(method, -1, f"unexpected response: {str(response)[:200]}")
        error = response.get("error")
        if error:
            raise self._error(method, error)
        return response.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several requests in one HTTP round trip; results in call order, the first error raised."""
        if not calls:
            return []
        first = next(self._ids)
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
            for i, (method, params) in enumerate(calls)
        ]
        for _ in calls[1:]:
            next(self._ids)
        responses = self._post(calls[0][0], payload)
        if isinstance(responses, Mapping) and responses.get("error"):
            raise self._error(calls[0][0], responses["error"])
        if not isinstance(responses, list):
            raise RpcError(calls[0][0], -1, f"unexpected batch response: {str(responses)[:200]}")
        by_id = {r.get("id"): r for r in responses if isinstance(r, Mapping)}
        results = []
        for i, (method, _) in enumerate(calls):
            response = by_id.get(first + i)
            if response is None:
                raise RpcError(method, -1, "missing from the batch response")
            if response.get("error"):
                raise self._error(method, response["error"])
            results.append(response.get("result"))
        return results

    def _post(self, method: str, payload: Any) -> Any:
        try:
            response = self._session().post(
                self.url,
                data=json.dumps(payload, default=_json_default),
                headers=_HEADERS,
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RpcUnreachable(self.url, type(exc).__name__) from exc
        try:
            return response.json()
        except ValueError:
            raise RpcError(
                method, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
            ) from None

    def _error(self, method: str, error: Any) -> Exception:
        if not isinstance(error, Mapping):
            return RpcError(method, -1, str(error))
        code = int(error.get("code", -1))
        message = str(error.get("message", ""))
        if method in ("eth_call", "eth_estimateGas"):
            data = _revert_data(error)
            if data is not None:
                return self.decoder.decode(data, context=message)
        if any(marker in message.lower() for marker in _NONCE_TOO_LOW):
            return NonceTooLow(method, code, message, error.get("data"))
        return RpcError(method, code, message, error.get("data"))

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.request("eth_chainId"), 16)
        return self._chain_id

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def get_block(self, block: BlockId = "latest") -> dict[str, Any]:
        result = self.request("eth_getBlockByNumber", [_block_param(block), False])
        if result is None:
            raise RpcError("eth_getBlockByNumber", -1, f"block {block} not found")
        return dict(result)

    def balance(self, address: str, block: BlockId = "latest") -> int:
        return int(self.request("eth_getBalance", [address, _block_param(block)]), 16)

    def code(self, address: str) -> bytes:
        return bytes.fromhex(str(self.request("eth_getCode", [address, "latest"]))[2:])

    def call(self, tx: Mapping[str, Any], block: BlockId = "latest") -> bytes:
        """eth_call; a revert raises `ContractRevert` with the decoded custom error."""
        result = self.request("eth_call", [_tx_params(tx), _block_param(block)])
        return bytes.fromhex(str(result)[2:])

    def estimate_gas(self, tx: Mapping[str, Any]) -> int:
        return int(self.request("eth_estimateGas", [_tx_params(tx)]), 16)

    def max_priority_fee(self) -> int:
        try:
            return int(self.request("eth_maxPriorityFeePerGas"), 16)
        except RpcError:
            return 10**9

    def nonce(self, address: str, block: BlockId = "pending") -> int:
        return int(self.request("eth_getTransactionCount", [address, _block_param(block)]), 16)

    def send_raw_transaction(self, raw: bytes) -> str:
        return str(self.request("eth_sendRawTransaction", ["0x" + raw.hex()]))

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = self.request("eth_getTransactionReceipt", [tx_hash])
        return dict(result) if result else None

    def get_logs(
        self,
        *,
        address: str | Sequence[str],
        from_block: int,
        to_block: int,
        topics: Sequence[Any] = (),
    ) -> list[dict[str, Any]]:
        params = {
            "address": address,
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "topics": list(topics),
        }
        return [dict(entry) for entry in self.request("eth_getLogs", [params])]


def _json_default(value: Any) -> Any:
    """Bytes (topics, data) go out as 0x-hex, as JSON-RPC spells them."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _tx_params(tx: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-RPC form of a call: ints as hex quantities, bytes as hex data."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int):
            out[key] = hex(value)
        elif isinstance(value, (bytes, bytearray)):
            out[key] = "0x" + bytes(value).hex()
        else:
            out[key] = value
    return out


def connect(url: str, *, expected_chain_id: int | None = None, timeout: float = 10.0) -> Rpc:
    """A checked connection to the node at `url` (see `Rpc.connect`)."""
    return Rpc.connect(url, expected_chain_id=expected_chain_id, timeout=timeout)


__all__ = ["BlockId", "ContractRevert", "Rpc", "connect"]
