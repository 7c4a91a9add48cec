"""Who calls a write endpoint: an API key, or an address proven by a signature (`gateway_protocol`)."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from api.errors import AuthenticationError, ForbiddenError
from api.services.nonces import NonceStore
from api.services.ratelimit import RateLimiter
from api.settings import Settings, parse_api_key
from chain import JobId
from gateway_protocol import (
    ADDRESS_HEADER,
    API_KEY_HEADER,
    BODY_HASH_HEADER,
    EXPIRY_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    lines_hash,
    log_batch_typed_data,
    provider_report_typed_data,
    recover_signer,
    request_typed_data,
)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BYTES32 = _NONCE
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order of secp256k1; a signature's s above half of it is the malleable twin of a low-s one."""
_VALID_V = frozenset({0, 1, 27, 28})


@dataclass(frozen=True)
class Caller:
    """The authenticated caller; `address` is set when the caller proved it (signature or bound key)."""

    via: Literal["signature", "api_key"]
    address: str | None
    rate_key: str
    body_hash: str | None = None
    """A signed request's `bodyHash` (lower-case 0x + 64 hex): the upload must hash to it."""
    api_key: str | None = None
    """The API key the caller presented (an upload identity of its own, `api.services.quotas`)."""


@dataclass(frozen=True)
class LogBatchClaim:
    """A log push's credentials, from its headers: the address it claims (a signature is not checked yet)."""

    via: Literal["signature", "api_key"]
    address: str | None
    rate_key: str
    expiry: int = 0
    signature: str = ""


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        nonces: NonceStore,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain_id = settings.chain_id
        self.max_skew_s = settings.signature_max_skew_s
        self.nonces = nonces
        self.limiter = limiter
        self.clock = clock
        self._keys = [parse_api_key(k.get_secret_value()) for k in settings.api_keys]

    def authenticate_request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        client_ip: str,
        admit: Callable[[Caller], None] | None = None,
    ) -> Caller:
        """A write request: signed `Request {method, path, expiry, nonce, bodyHash, gateway}`, or an API key.

        `gateway` is the request's own Host header, so a request signed for another gateway does not verify;
        the body is not read here: the caller's `body_hash` is checked against the bytes as they arrive.
        `admit` may refuse the verified caller before its nonce is recorded (so a refusal writes nothing)."""
        if headers.get(SIGNATURE_HEADER) is None:
            caller = self._api_key(headers, client_ip)
            if admit is not None:
                admit(caller)
            return caller
        address, expiry, signature = self._signed_headers(headers)
        nonce = _required(headers, NONCE_HEADER)
        if not _NONCE.match(nonce):
            raise AuthenticationError(f"{NONCE_HEADER} must be 0x followed by 64 hex digits")
        body_hash = _required(headers, BODY_HASH_HEADER)
        if not _BYTES32.match(body_hash):
            raise AuthenticationError(
                f"{BODY_HASH_HEADER} must be 0x followed by the 64 hex digits of the body's SHA-256"
            )
        host = headers.get("host")
        if not host:
            raise AuthenticationError("a signed request needs a Host header: the gateway it was signed for")
        typed = request_typed_data(self.chain_id, method, path, expiry, nonce, body_hash, host.lower())
        self._verify(
            typed,
            signature,
            address,
            f" for {method.upper()} {path} on gateway {host.lower()!r} with body hash {body_hash.lower()}"
            " (sign the Host you send and the SHA-256 of the bytes you upload)",
        )
        self.limiter.check(address)
        caller = Caller("signature", address, address, body_hash=body_hash.lower())
        if admit is not None:
            admit(caller)
        if not self.nonces.consume(address, nonce.lower(), expiry):
            raise AuthenticationError("replayed request: this nonce was already used")
        return caller

    def claim_log_batch(self, headers: Mapping[str, str], client_ip: str) -> LogBatchClaim:
        """Who a log push says it comes from, from its headers alone (its body is not read yet).

        401 without credentials or with malformed or expired signature headers, 403 for an unknown API key;
        the signature itself is checked by `verify_log_batch` once the body is in."""
        if headers.get(SIGNATURE_HEADER) is None:
            _, address = self._match_api_key(headers)
            return LogBatchClaim("api_key", address, f"ip:{client_ip}")
        address, expiry, signature = self._signed_headers(headers)
        # Charged before the signature is checked, so per address *and* client: a stranger naming the
        # provider spends its own budget, never the provider's.
        return LogBatchClaim("signature", address, f"{address}@ip:{client_ip}", expiry, signature)

    def limit_log_batch(self, claim: LogBatchClaim) -> None:
        """429 when the claimed address from this client IP (an API key: its client IP) is over its rate."""
        self.limiter.check(claim.rate_key)

    def verify_log_batch(self, claim: LogBatchClaim, job_id: JobId, from_seq: int, body: bytes) -> Caller:
        """Check the signed `LogBatch {jobId, fromSeq, linesHash, expiry}` over `body` (in a thread)."""
        if claim.via == "signature":
            assert claim.address is not None
            typed = log_batch_typed_data(self.chain_id, job_id, from_seq, lines_hash(body), claim.expiry)
            self._verify(typed, claim.signature, claim.address)
        return Caller(claim.via, claim.address, claim.rate_key)

    def authenticate_provider_report(
        self, job_id: JobId, body: bytes, headers: Mapping[str, str], client_ip: str
    ) -> Caller:
        """A provider report: signed `ProviderReport {jobId, bodyHash, expiry}`, or an address-bound API key.

        Not rate-limited here: reports have their own limit per address (`Gateway.report_limiter`)."""
        if headers.get(SIGNATURE_HEADER) is None:
            return self._api_key(headers, client_ip)
        address, expiry, signature = self._signed_headers(headers)
        typed = provider_report_typed_data(self.chain_id, job_id, lines_hash(body), expiry)
        self._verify(typed, signature, address)
        return Caller("signature", address, address)

    def _api_key(self, headers: Mapping[str, str], client_ip: str) -> Caller:
        key, address = self._match_api_key(headers)
        self.limiter.check(f"ip:{client_ip}")
        return Caller("api_key", address, f"ip:{client_ip}", api_key=key)

    def _match_api_key(self, headers: Mapping[str, str]) -> tuple[str, str | None]:
        """The presented API key and the address it is bound to (None: unbound); 401 without one, 403 if
        unknown."""
        presented = headers.get(API_KEY_HEADER)
        if presented is None:
            raise AuthenticationError(
                f"authentication required: an {API_KEY_HEADER} header or an EIP-712 signature "
                f"({ADDRESS_HEADER}, {EXPIRY_HEADER}, {SIGNATURE_HEADER})"
            )
        matched: tuple[str, str | None] | None = None
        for key, address in self._keys:
            if hmac.compare_digest(key.encode(), presented.encode()):
                matched = (key, address)
        if matched is None:
            raise ForbiddenError("unknown API key")
        return matched

    def _signed_headers(self, headers: Mapping[str, str]) -> tuple[str, int, str]:
        address = _required(headers, ADDRESS_HEADER)
        if not _ADDRESS.match(address):
            raise AuthenticationError(f"{ADDRESS_HEADER} is not an address")
        try:
            expiry = int(_required(headers, EXPIRY_HEADER))
        except ValueError:
            raise AuthenticationError(f"{EXPIRY_HEADER} must be unix seconds") from None
        now = self.clock()
        if expiry < now:
            raise AuthenticationError(f"signature expired {int(now - expiry)} s ago")
        if expiry > now + self.max_skew_s:
            raise AuthenticationError(f"signature expiry is more than {self.max_skew_s} s ahead")
        return address.lower(), expiry, _required(headers, SIGNATURE_HEADER)

    def _verify(self, typed: dict[str, Any], signature: str, address: str, what: str = "") -> None:
        check_signature_form(signature)
        try:
            signer = recover_signer(typed, signature)
        except Exception:  # eth-account raises several types for malformed signatures
            raise AuthenticationError("malformed signature") from None
        if signer != address:
            raise AuthenticationError("bad signature: it was not made by " + address + what)


def check_signature_form(signature: str) -> None:
    """Refuse (401) anything but a 65-byte r || s || v with v in {27, 28} (or 0/1) and a low s: the high-s
    twin of a valid signature recovers the same signer, and accepting both makes signatures malleable."""
    if not _SIGNATURE.match(signature):
        raise AuthenticationError(
            f"malformed signature: {SIGNATURE_HEADER} must be 0x and 130 hex digits (65 bytes, r || s || v)"
        )
    raw = bytes.fromhex(signature[2:])
    s, v = int.from_bytes(raw[32:64], "big"), raw[64]
    if v not in _VALID_V:
        raise AuthenticationError(f"malformed signature: v is {v}; it must be 27 or 28 (or 0 or 1)")
    if s > SECP256K1_N // 2:
        raise AuthenticationError(
            "high-s signature: s is above secp256k1n/2; sign with a standard library (it makes the "
            "low-s form) or use secp256k1n - s and flip v"
        )


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise AuthenticationError(f"missing {name} header")
    return value


def ensure_address(caller: Caller | LogBatchClaim, expected: str | None, what: str) -> None:
    """Raise 403 unless the caller proved it is `expected`."""
    if caller.address is None:
        raise ForbiddenError(f"{what}: this API key is not bound to an address")
    if expected is None or caller.address != expected.lower():
        raise ForbiddenError(f"{what}: {caller.address} is not {expected or 'the expected address'}")
