"""Tell the gateway why this node skips a job, and the energy each job it ran used; never hold up the node.

Each report is a signed `ProviderReport` of the gateway's protocol (`gateway_protocol`) about one job.
A skip reason is reported once per job and again only when it changes (its kind or its first clause:
numbers that move, such as the free stake, do not count as a change); an energy record once per job.
A background thread sends them in order, the newest reason of a job replacing one not yet sent. An
unreachable gateway, a rate limit, an index that has not seen the job or the registration yet: retried
with backoff, a few times for an answer that may not change, then dropped with one warning. Nothing
here raises into the daemon.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from chain import JobId
from gateway_protocol import (
    REPORT_KIND_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    EnergyReportWire,
    ProviderReportWire,
    SkipReportWire,
    provider_report_headers,
    report_body,
    report_path,
)
from jobs.matching import kind_of

__all__ = ["ProviderReporter", "energy_report"]

log = logging.getLogger(__name__)

_LATER = {404, 408, 425, 429, 500, 502, 503, 504}
"""Answers that may change: the gateway's index catches up, its limit refills, it comes back."""
_INDEX_LAG = {401, 403}
"""A registration or claim the gateway has not indexed yet looks like this for a while."""
_MAX_TRIES = 8
_MAX_REMEMBERED = 10_000


def energy_report(record: Mapping[str, Any]) -> EnergyReportWire:
    """The wire form of an `EnergyRecord.to_dict()` (what the runner keeps in the state file)."""
    cpu, gpu = str(record.get("cpu_method", "")), str(record.get("gpu_method", ""))
    seconds = record.get("seconds")
    return {
        "type": "energy",
        "kwh": float(record["kwh"]),
        "gco2e": float(record["gco2e"]),
        "method": str(record["method"]),
        # Measured: the CPU by RAPL, and the GPUs (if any) by NVML; an estimate anywhere is not.
        "measured": cpu == "rapl" and gpu in ("nvml", "none"),
        "grid_gco2e_per_kwh": float(record["grid_gco2e_per_kwh"]),
        "seconds": float(seconds) if seconds is not None else None,
    }


def _skip_report(reason: str) -> SkipReportWire:
    text = reason if len(reason) <= REPORT_REASON_MAX_CHARS else reason[: REPORT_REASON_MAX_CHARS - 1] + "…"
    return {"type": "skip", "kind": kind_of(reason).value[:REPORT_KIND_MAX_CHARS], "reason": text}


class ProviderReporter:
    """Reports of one node; `skipped` and `energy` never block, `close` stops the sender."""

    def __init__(
        self,
        gateway_url: str,
        account: LocalAccount,
        chain_id: int,
        *,
        timeout_s: float = 5.0,
        retry_s: float = 1.0,
        max_backoff_s: float = 60.0,
        max_pending: int = 1000,
    ) -> None:
        self.url = gateway_url.rstrip("/")
        self.account = account
        self.chain_id = chain_id
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.max_backoff_s = max_backoff_s
        self.max_pending = max_pending
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._told: collections.OrderedDict[JobId, str] = collections.OrderedDict()
        # (job, type) -> (report, tries); insertion order is the sending order.
        self._pending: collections.OrderedDict[tuple[JobId, str], tuple[ProviderReportWire, int]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._warned: set[str] = set()
        self._session = requests.Session()
        self._session.trust_env = False
        self._thread = threading.Thread(target=self._loop, name="provider-reports", daemon=True)
        self._thread.start()

    # -- what the node calls --------------------------------------------------------------------------

    def skipped(self, job_id: JobId, reason: str) -> None:
        """The node skips `job_id` for `reason`: reported unless that reason was already reported."""
        key = f"{kind_of(reason).value}|{reason.split(':', 1)[0]}"
        with self._lock:
            if self._told.get(job_id) == key:
                return
            self._told[job_id] = key
            self._told.move_to_end(job_id)
            while len(self._told) > _MAX_REMEMBERED:
                self._told.popitem(last=False)
        self._queue(job_id, _skip_report(reason))

    def energy(self, job_id: JobId, record: Mapping[str, Any]) -> None:
        """A job this node ran used `record` (`EnergyRecord.to_dict()`); malformed records are dropped."""
        try:
            report = energy_report(record)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("job %d: its energy record cannot be reported (%r)", job_id, exc)
            return
        self._queue(job_id, report)

    def forget(self, job_id: JobId) -> None:
        """The job is no longer open: a reason given again later (a reopened job) is reported again."""
        with self._lock:
            self._told.pop(job_id, None)

    def close(self, timeout: float = 2.0) -> None:
        """Stop sending; what is pending is dropped (a restarted node gives its reasons and energy again)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def idle(self) -> bool:
        """Nothing waits to be sent."""
        with self._lock:
            return not self._pending

    # -- the sender ------------------------------------------------------------------------------------

    def _queue(self, job_id: JobId, report: ProviderReportWire, tries: int = 0) -> None:
        with self._lock:
            key = (job_id, report["type"])
            self._pending.pop(key, None)
            if len(self._pending) >= self.max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
            self._pending[key] = (report, tries)
        self._wake.set()

    def _loop(self) -> None:
        backoff = self.retry_s
        try:
            while not self._stop.is_set():
                with self._lock:
                    item = next(iter(self._pending.items()), None)
                if item is None:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                (job_id, kind), (report, tries) = item
                wait = self._send(job_id, report)
                with self._lock:
                    if self._pending.get((job_id, kind), (None, 0))[0] is report:
                        del self._pending[(job_id, kind)]
                        if wait is not None and tries + 1 < _MAX_TRIES:
                            self._pending[(job_id, kind)] = (report, tries + 1)  # to the back
                        elif wait is not None:
                            self.dropped += 1
                            self._warn_once(
                                "gave-up", f"job {job_id}: a report was dropped after {_MAX_TRIES} tries"
                            )
                if wait is None:
                    backoff = self.retry_s
                    continue
                self._stop.wait(max(wait, backoff))
                backoff = min(backoff * 2, self.max_backoff_s)
        finally:
            self._session.close()

    def _send(self, job_id: JobId, report: ProviderReportWire) -> float | None:
        """None when the gateway took (or refused for good) the report; else seconds to wait."""
        body = report_body(report)
        try:
            signed = provider_report_headers(self.account, self.chain_id, job_id, body)
            response = self._session.post(
                self.url + report_path(job_id),
                data=body,
                headers={**signed, "Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except (requests.RequestException, OSError) as exc:
            self.failures += 1
            self._warn_once("unreachable", f"reports wait for the gateway at {self.url}: {exc} (retrying)")
            return self.retry_s
        if response.ok:
            self.sent += 1
            return None
        status = response.status_code
        if status in _LATER or status in _INDEX_LAG:
            self.failures += 1
            retry_after = response.headers.get("Retry-After", "")
            self._warn_once(
                str(status), f"the gateway answered {status} to a report: {response.text[:200]} (retrying)"
            )
            return float(retry_after) if retry_after.isdigit() else self.retry_s
        self.dropped += 1
        log.warning("job %d: the gateway refused a report (%d): %s", job_id, status, response.text[:200])
        return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", message)
