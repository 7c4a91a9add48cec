"""The exceptions of the `chain` package: one root, `ChainError`, and subclasses that also inherit a built-in.

Contract reverts become `ContractRevert` with the custom error's name and fields; `chain.reverts` decodes
the revert data against every compiled ABI and writes the human message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chain.primitives import JobId


class ChainError(Exception):
    """Base class of every error raised by `chain`."""


class ContractRevert(ChainError):
    """A call or transaction reverted; `error_name` and `fields` come from the contract's custom error.

    `error_name` is the Solidity error's name (`JobNotInStatus`), `Error` for a revert string, `Panic` for
    a panic code, or `Unknown` when the data matched no ABI (then `fields` holds the raw `data`).
    """

    def __init__(
        self,
        error_name: str,
        fields: Mapping[str, Any],
        message: str,
        *,
        data: bytes = b"",
        tx_hash: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.fields: dict[str, Any] = dict(fields)
        self.message = message
        self.data = data
        self.tx_hash = tx_hash

    def __repr__(self) -> str:
        return f"ContractRevert({self.error_name!r}, {self.fields!r})"


class RpcError(ChainError):
    """The node answered a JSON-RPC request with an error that is not a contract revert."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method} failed: {message} (code {code})")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class NonceTooLow(RpcError):
    """The node has already seen a transaction with this nonce (another process sent from the account)."""


class RpcUnreachable(ChainError, ConnectionError):
    """No JSON-RPC node answers at the URL."""

    def __init__(self, url: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"no JSON-RPC node answers at {url}{detail}")
        self.url = url


class ChainIdMismatch(ChainError, ValueError):
    """The node serves another chain than the caller expects."""

    def __init__(self, expected: int, actual: int, url: str = "") -> None:
        where = f" at {url}" if url else ""
        super().__init__(f"the node{where} serves chain id {actual}; expected {expected}")
        self.expected = expected
        self.actual = actual


class MissingKey(ChainError, LookupError):
    """No signing key was configured (environment variable or keystore)."""


class InvalidKey(ChainError, ValueError):
    """A private key or keystore could not be read, parsed or decrypted."""


class DevKeyOnLiveChain(ChainError, ValueError):
    """A well-known development key was about to be used on a chain other than a local dev chain."""

    def __init__(self, address: str, chain_id: int) -> None:
        super().__init__(
            f"{address} is a public anvil development key; refusing to use it on chain id {chain_id} "
            "(dev keys are only for chain ids 31337 and 1337)"
        )
        self.address = address
        self.chain_id = chain_id


class CompilationFailed(ChainError, RuntimeError):
    """solc reported errors for the contract sources."""


class ArtifactNotFound(ChainError, LookupError):
    """No compiled contract of that name exists under `contracts/`."""


class DeploymentNotFound(ChainError, FileNotFoundError):
    """No deployment record exists for the chain."""


class TransactionTimeout(ChainError, TimeoutError):
    """A sent transaction was not mined within the wait limit."""

    def __init__(self, tx_hash: str, seconds: float) -> None:
        super().__init__(f"transaction {tx_hash} not mined after {seconds:g} s")
        self.tx_hash = tx_hash


class JobNotFound(ChainError, LookupError):
    """No job with this id was ever posted."""

    def __init__(self, job_id: JobId) -> None:
        super().__init__(f"job {job_id} does not exist")
        self.job_id = job_id


class JobDataStale(ChainError, RuntimeError):
    """The job rebuilt from events does not hash to the stored word (the node lags, or events are missing)."""

    def __init__(self, job_id: JobId) -> None:
        super().__init__(f"job {job_id}: the job rebuilt from events does not match jobWord on chain")
        self.job_id = job_id


class DevnetError(ChainError, RuntimeError):
    """The local chain could not be started, found or stopped."""
