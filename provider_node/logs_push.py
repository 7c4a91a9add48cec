"""Deliver each job's log lines to the gateway in order, in signed batches; never hold up or fail the job.

A line is numbered and written to the job's spool on disk when it is printed (`log_spool`); a background
thread per job sends the spool's oldest lines as a signed `LogBatch` (`gateway_protocol`) and forgets them
once the gateway has them. The gateway stores each (job, seq) once, so a batch sent again is harmless.
An unreachable gateway, a refused signature, an index that has not seen the claim yet: the lines wait in
the spool and the thread retries with backoff; a node restarted on the same data dir delivers what its
spool holds (`LogRelay.resume`). A spool that fills up keeps the head and the tail of the log; the seqs
in between are never sent and the gateway shows them as a gap.

A 409 means the gateway holds other lines at these seqs (this node lost its spool once): the rest is sent
from where the gateway's log ends. A batch refused for good (malformed) is skipped, leaving a gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from chain import JobId
from gateway_protocol import (
    LOG_LINE_MAX_BYTES,
    LogLineWire,
    LogStream,
    log_batch_body,
    log_batch_headers,
    log_path,
)
from provider_node.log_spool import LogSpool, SpooledLine

__all__ = ["LogPusher", "LogRelay"]

log = logging.getLogger(__name__)

MAX_LINE_BYTES = LOG_LINE_MAX_BYTES - 64  # room for the cut marker
_RETRYABLE = {401, 403, 404, 408, 425, 429, 500, 502, 503, 504}


def _clip(text: str) -> str:
    raw = text.encode("utf-8", "replace")
    if len(raw) <= MAX_LINE_BYTES:
        return text
    return raw[:MAX_LINE_BYTES].decode("utf-8", "ignore") + " [line cut]"


class LogPusher:
    """One job's log relay over its spool. `add` never waits for the network; `close` says the log is
    complete (the thread delivers the rest, then removes the spool); `stop` ends the thread and keeps the
    spool for the next start."""

    def __init__(
        self,
        gateway_url: str,
        account: LocalAccount,
        chain_id: int,
        job_id: JobId,
        spool: LogSpool,
        *,
        flush_interval_s: float = 0.5,
        max_batch: int = 500,
        max_batch_bytes: int = 2 * 1024 * 1024,
        max_backoff_s: float = 30.0,
        timeout_s: float = 5.0,
        close_timeout_s: float = 5.0,
        linger_s: float = 3600.0,
        on_finished: Callable[[LogPusher], None] | None = None,
    ) -> None:
        self.url = gateway_url.rstrip("/") + log_path(job_id)
        self.account = account
        self.chain_id = chain_id
        self.job_id = job_id
        self.spool = spool
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.close_timeout_s = close_timeout_s
        self.linger_s = linger_s
        self.sent = 0
        self.failures = 0
        self.unspooled = 0  # lines the disk refused (counted, logged)
        self._on_finished = on_finished
        self._lock = threading.Lock()
        self._added = 0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._stopped = threading.Event()
        self._finished = False
        self._failing_since: float | None = None
        self._session = requests.Session()
        self._session.trust_env = False
        self._thread = threading.Thread(target=self._loop, name=f"logs-{job_id}", daemon=True)
        self._thread.start()

    # -- what the job writes -------------------------------------------------------------------------

    def add(self, line: str, *, stream: LogStream = "stdout", source: str | None = None) -> None:
        """Spool one line (the node's own, or with `source` an execution's output line)."""
        try:
            self.spool.append(_clip(line), stream=stream, ts=time.time(), source=source)
        except (OSError, ValueError) as exc:
            self.unspooled += 1
            if self.unspooled == 1:
                log.error("job %d: cannot spool log lines in %s: %s", self.job_id, self.spool.folder, exc)
            return
        self._added += 1
        if self._added >= self.max_batch:
            self._added = 0
            self._wake.set()

    def output(self, execution_id: str) -> Callable[[str], None]:
        """The `on_log` callback for an execution: its lines are spooled once, even when a re-attached
        container replays its output from the start."""
        seen = self.spool.already_spooled(execution_id)
        position = 0

        def on_line(line: str) -> None:
            nonlocal position
            position += 1
            if position > seen:
                self.add(line, source=execution_id)

        return on_line

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def reopen(self) -> bool:
        """Lines will come again (a restarted node re-attached to the job); False once it has finished."""
        with self._lock:
            if self._finished or self._stopped.is_set():
                return False
            self._closed.clear()
            return True

    def close(self, *, wait: bool = True) -> None:
        """The job's log is complete: deliver the rest (waiting at most `close_timeout_s` when `wait`),
        then remove the spool. Undelivered lines stay spooled while the gateway is away."""
        self._closed.set()
        self._wake.set()
        if wait:
            self._thread.join(self.close_timeout_s)

    def stop(self, *, wait: bool = True) -> None:
        """The node stops: end the thread (after the request in flight, if any); what is not delivered
        stays spooled for the next start."""
        self._stopped.set()
        self._wake.set()
        if wait:
            self._thread.join(self.timeout_s + 1)

    # -- the thread ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self._pump()
        except Exception:  # the job never notices; its lines stay spooled for the next start
            log.exception("job %d: the log relay failed; lines stay in %s", self.job_id, self.spool.folder)
        finally:
            self._session.close()
            self._end()

    def _pump(self) -> None:
        backoff = self.flush_interval_s
        full = False
        while not self._stopped.is_set():
            if not full and not self._closed.is_set():
                self._wake.wait(self.flush_interval_s)
                self._wake.clear()
            batch = self.spool.batch(self.max_batch, self.max_batch_bytes)
            if not batch:
                full = False
                with self._lock:
                    if self._closed.is_set():
                        self._finished = True
                        return
                continue
            full = len(batch) >= self.max_batch
            if self._send(batch):
                backoff = self.flush_interval_s
                continue
            full = False
            if self._closed.is_set() and self._failing_for() > self.linger_s:
                log.warning(
                    "job %d: the gateway took no log lines for %.0f s; %d lines stay in %s for the next "
                    "start of this node",
                    self.job_id,
                    self._failing_for(),
                    self.spool.pending,
                    self.spool.folder,
                )
                return
            self._stopped.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    def _end(self) -> None:
        try:
            if self._finished:
                self.spool.remove()
            else:
                self.spool.close()
                left = self.spool.pending
                if left:
                    log.info("job %d: %d log lines wait in %s", self.job_id, left, self.spool.folder)
        except OSError as exc:
            log.warning("job %d: could not tidy the log spool %s: %s", self.job_id, self.spool.folder, exc)
        if self._on_finished is not None:
            self._on_finished(self)

    def _failing_for(self) -> float:
        return 0.0 if self._failing_since is None else time.monotonic() - self._failing_since

    def _send(self, batch: list[SpooledLine]) -> bool:
        from_seq = batch[0].seq
        lines: list[LogLineWire] = [
            {"seq": line.seq, "text": line.text, "stream": line.stream, "ts": line.ts} for line in batch
        ]
        body = log_batch_body(lines)
        try:
            signed = log_batch_headers(self.account, self.chain_id, self.job_id, from_seq, body)
            headers = {**signed, "Content-Type": "application/json"}
            response = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
        except (requests.RequestException, OSError) as exc:
            return self._failed(f"the gateway is unreachable: {exc}")
        if response.ok:
            self._delivered(batch)
            return True
        if response.status_code == 409:
            return self._rebase(response.text)
        if response.status_code in _RETRYABLE:
            return self._failed(f"the gateway answered {response.status_code}: {response.text[:200]}")
        # Refused for good (a malformed batch): skip it rather than block every later line; a gap shows.
        log.warning(
            "job %d: the gateway refused log lines %d-%d for good (%d): %s",
            self.job_id,
            batch[0].seq,
            batch[-1].seq,
            response.status_code,
            response.text[:200],
        )
        self.spool.mark_delivered(batch[-1].seq)
        return True

    def _delivered(self, batch: list[SpooledLine]) -> None:
        self.spool.mark_delivered(batch[-1].seq)
        self.sent += len(batch)
        if self._failing_since is not None:
            log.info(
                "job %d: the gateway takes log lines again (after %.0f s); %d more wait in the spool",
                self.job_id,
                self._failing_for(),
                self.spool.pending,
            )
            self._failing_since = None

    def _rebase(self, detail: str) -> bool:
        """The gateway holds other lines at these seqs: send the rest after what it has."""
        try:
            response = self._session.get(self.url, params={"limit": 1}, timeout=self.timeout_s)
            response.raise_for_status()
            payload: Any = response.json()
            self.spool.rebase(int(payload["next_seq"]))
        except (requests.RequestException, OSError, ValueError, KeyError, TypeError) as exc:
            return self._failed(f"the log conflicts ({detail[:120]}) and its end is unknown: {exc}")
        return True

    def _failed(self, reason: str) -> bool:
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            log.warning("job %d: log lines wait in the spool: %s (retrying)", self.job_id, reason)
        return False


class LogRelay:
    """A node's log pushers, one per job, over spools in `folder/<job id>/`."""

    def __init__(
        self,
        gateway_url: str,
        account: LocalAccount,
        chain_id: int,
        folder: Path,
        *,
        spool_bytes: int = 32 * 1024 * 1024,
        **pusher_options: Any,
    ) -> None:
        self.gateway_url = gateway_url
        self.account = account
        self.chain_id = chain_id
        self.folder = folder
        self.spool_bytes = spool_bytes
        self.pusher_options = pusher_options
        self._pushers: dict[JobId, LogPusher] = {}
        self._lock = threading.Lock()

    def pusher(self, job_id: JobId) -> LogPusher:
        """The job's pusher: the one already delivering its spool, or a new one."""
        with self._lock:
            current = self._pushers.pop(job_id, None)
            if current is not None and current.reopen():
                self._pushers[job_id] = current
                return current
        if current is not None:
            current.stop()  # finished or stopping: its spool is closed before a new one opens it
        with self._lock:
            spool = LogSpool(self.folder / str(job_id), max_bytes=self.spool_bytes)
            pusher = LogPusher(
                self.gateway_url,
                self.account,
                self.chain_id,
                job_id,
                spool,
                on_finished=self._forget,
                **self.pusher_options,
            )
            self._pushers[job_id] = pusher
            return pusher

    def resume(self, active: Callable[[JobId], bool]) -> list[JobId]:
        """Deliver the spools an earlier run left; those of jobs no longer `active` are complete."""
        resumed: list[JobId] = []
        if not self.folder.is_dir():
            return resumed
        for path in sorted(self.folder.iterdir()):
            if not path.is_dir() or not path.name.isdigit():
                continue
            job_id = JobId(int(path.name))
            pusher = self.pusher(job_id)
            if not active(job_id):
                pusher.close(wait=False)
            resumed.append(job_id)
        if resumed:
            log.info("delivering the log lines spooled by an earlier run for jobs %s", resumed)
        return resumed

    def complete(self, job_id: JobId) -> None:
        """The job is over for this node: its log is complete."""
        with self._lock:
            pusher = self._pushers.get(job_id)
        if pusher is not None:
            pusher.close(wait=False)

    def stop(self) -> None:
        """Stop every pusher; what is undelivered stays spooled for the next start."""
        with self._lock:
            pushers = list(self._pushers.values())
        for pusher in pushers:
            pusher.stop(wait=False)
        for pusher in pushers:
            pusher.stop()

    def _forget(self, pusher: LogPusher) -> None:
        with self._lock:
            if self._pushers.get(pusher.job_id) is pusher:
                del self._pushers[pusher.job_id]
