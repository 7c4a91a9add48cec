"""Stream an execution's log lines to the gateway in signed batches; never hold up or fail the job.

Each batch is a signed `LogBatch` push of the gateway's protocol (`gateway_protocol`): the provider's key
signs the exact body bytes.

Lines get their `seq` when sent, so the log never has gaps: when the gateway answers 409 (a restarted node
replaying lines it already pushed, with different content), the pusher asks it where the log continues and
goes on from there. Unreachable gateway, rejected signatures, an index that has not seen the claim yet:
all retried with backoff in a background thread; lines beyond the buffer are dropped and counted.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from chain import JobId
from gateway_protocol import LOG_LINE_MAX_BYTES, LogLineWire, log_batch_body, log_batch_headers, log_path

__all__ = ["LogPusher"]

log = logging.getLogger(__name__)

MAX_LINE_BYTES = LOG_LINE_MAX_BYTES - 64  # room for the cut marker
_RETRYABLE = {401, 403, 404, 408, 425, 429, 500, 502, 503, 504}


def _clip(text: str) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= MAX_LINE_BYTES:
        return text
    return raw[:MAX_LINE_BYTES].decode("utf-8", "ignore") + " [line cut]"


class LogPusher:
    """One job's log relay; `add` never blocks, `close` flushes for at most `close_timeout_s`."""

    def __init__(
        self,
        gateway_url: str,
        account: LocalAccount,
        chain_id: int,
        job_id: JobId,
        *,
        flush_interval_s: float = 0.5,
        max_batch: int = 500,
        max_buffer: int = 20_000,
        max_backoff_s: float = 30.0,
        timeout_s: float = 5.0,
        close_timeout_s: float = 5.0,
    ) -> None:
        self.url = gateway_url.rstrip("/") + log_path(job_id)
        self.account = account
        self.chain_id = chain_id
        self.job_id = job_id
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.max_buffer = max_buffer
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.close_timeout_s = close_timeout_s
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._next_seq = 0
        self._pending: collections.deque[tuple[str, float]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._session = requests.Session()
        self._session.trust_env = False
        self._warned = False
        self._thread = threading.Thread(target=self._loop, name=f"logs-{job_id}", daemon=True)
        self._thread.start()

    def add(self, line: str) -> None:
        with self._lock:
            if len(self._pending) >= self.max_buffer:
                self.dropped += 1
                return
            if self.dropped and len(self._pending) < self.max_buffer - 1:
                self._pending.append((f"[provider: {self.dropped} log lines dropped]", time.time()))
                self.dropped = 0
            self._pending.append((_clip(line), time.time()))
            full = len(self._pending) >= self.max_batch
        if full:
            self._wake.set()

    def close(self, *, wait: bool = True) -> None:
        """Send what is buffered (for at most `close_timeout_s`), then stop; `wait=False` returns at once."""
        self._closing.set()
        self._wake.set()
        if wait:
            self._thread.join(self.close_timeout_s + self.timeout_s)

    def _report_left(self) -> None:
        with self._lock:
            left = len(self._pending)
        if left:
            log.warning("job %d: %d log lines were not delivered to the gateway", self.job_id, left)

    def _loop(self) -> None:
        try:
            self._pump()
        finally:
            self._session.close()
            self._report_left()

    def _pump(self) -> None:
        backoff = self.flush_interval_s
        give_up_at: float | None = None
        while True:
            closing = self._closing.is_set()
            if closing and give_up_at is None:
                give_up_at = time.monotonic() + self.close_timeout_s
            with self._lock:
                batch = list(self._pending)[: self.max_batch]
            if not batch:
                if closing:
                    return
                self._wake.wait(self.flush_interval_s)
                self._wake.clear()
                continue
            if self._send(batch):
                backoff = self.flush_interval_s
                continue
            if give_up_at is not None and time.monotonic() >= give_up_at:
                return
            if closing:
                time.sleep(min(backoff, 0.2))
            else:
                self._closing.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    def _send(self, batch: list[tuple[str, float]]) -> bool:
        from_seq = self._next_seq
        lines: list[LogLineWire] = [
            {"seq": from_seq + i, "text": text, "stream": "stdout", "ts": ts}
            for i, (text, ts) in enumerate(batch)
        ]
        body = log_batch_body(lines)
        try:
            signed = log_batch_headers(self.account, self.chain_id, self.job_id, from_seq, body)
            headers = {**signed, "Content-Type": "application/json"}
            response = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
        except (requests.RequestException, OSError) as exc:
            return self._failed(f"the gateway is unreachable: {exc}")
        if response.ok:
            self._delivered(len(batch), _next_seq(response, from_seq + len(batch)))
            return True
        if response.status_code == 409:
            return self._resync(response.text)
        if response.status_code in _RETRYABLE:
            return self._failed(f"the gateway answered {response.status_code}: {response.text[:200]}")
        # Refused for good (a malformed batch): drop it rather than block every later line.
        log.warning(
            "job %d: the gateway refused %d log lines: %s", self.job_id, len(batch), response.text[:200]
        )
        self._delivered(len(batch), from_seq + len(batch))
        return True

    def _delivered(self, count: int, next_seq: int) -> None:
        with self._lock:
            for _ in range(min(count, len(self._pending))):
                self._pending.popleft()
        self._next_seq = max(self._next_seq + count, next_seq)
        self.sent += count

    def _resync(self, detail: str) -> bool:
        """The gateway holds other lines at these seqs: continue after what it has."""
        try:
            response = self._session.get(self.url, params={"limit": 1}, timeout=self.timeout_s)
            response.raise_for_status()
            self._next_seq = int(response.json()["next_seq"])
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            return self._failed(f"the log conflicts ({detail[:120]}) and its end is unknown: {exc}")
        log.info("job %d: the gateway's log continues at seq %d", self.job_id, self._next_seq)
        return True

    def _failed(self, reason: str) -> bool:
        self.failures += 1
        if not self._warned:
            log.warning("job %d: log lines wait for the gateway: %s (retrying)", self.job_id, reason)
            self._warned = True
        return False


def _next_seq(response: requests.Response, default: int) -> int:
    try:
        payload: Any = response.json()
        return int(payload["next_seq"])
    except (ValueError, KeyError, TypeError):
        return default
