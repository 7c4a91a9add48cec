"""The few gateway endpoints a requester uses: bundle upload, content by CID, and the log relay.

Uploads are authorised per request by an EIP-712 `Request` signature of the requester's key (the message
the dApp signs, `gateway_protocol`). Content read through the gateway is verified against its CID here, so a
gateway can slow a requester down but never hand over other bytes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from eth_account.signers.local import LocalAccount

from chain import JobId
from crowdcompute.requester.errors import GatewayRefused, GatewayUnreachable
from gateway_protocol import file_body_hash, gateway_authority, log_path, request_headers
from jobs.cid import Cid

__all__ = ["GatewayClient", "LogGap", "LogLine", "LogPage"]

_HINTS = {
    400: "the gateway refused the request",
    401: "the gateway did not accept the signature (is it serving this chain?)",
    403: "the gateway refused this account (uploads need an API key or tokens at stake)",
    404: "not found at the gateway",
    413: "the bundle is larger than the gateway accepts",
    422: "the manifest has problems",
    429: "too many requests; wait a moment and try again",
    503: "the gateway's content store is unavailable",
}


@dataclass(frozen=True)
class LogLine:
    seq: int
    text: str
    stream: str
    ts: float | None


@dataclass(frozen=True)
class LogGap:
    """Lines `first`..`last` (inclusive) that the gateway never received."""

    first: int
    last: int

    def __str__(self) -> str:
        if self.first == self.last:
            return f"[line {self.first} not received]"
        return f"[lines {self.first}\u2013{self.last} not received]"


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_seq: int
    job_state: str
    gaps: list[LogGap] = field(default_factory=list)
    next_after: int | None = None
    """More lines are stored: read on with `after` set to this (None: the page reached the end)."""

    def entries(self) -> list[LogLine | LogGap]:
        """Lines and gaps in log order."""
        merged: list[LogLine | LogGap] = [*self.lines, *self.gaps]
        return sorted(merged, key=lambda item: item.seq if isinstance(item, LogLine) else item.first)


class GatewayClient:
    """One gateway at `url`; use as a context manager or call `close`."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        # trust_env off: a proxy from the environment must not see (or break) local gateway traffic.
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def upload_bundle(self, tar_path: Path, account: LocalAccount, chain_id: int) -> tuple[str, int]:
        """POST /bundles: the gateway repacks, validates and pins the bundle; returns (cid, size)."""
        headers = request_headers(  # the key stays in `account`
            account,
            chain_id,
            "POST",
            "/bundles",
            gateway=gateway_authority(self.url),
            body_hash=file_body_hash(tar_path),
        )
        with tar_path.open("rb") as body, self._request():
            response = self._http.post(
                "/bundles",
                files={"file": ("bundle.tar", body, "application/x-tar")},
                headers=headers,
                timeout=httpx.Timeout(30.0, read=600.0, write=600.0),
            )
        payload = self._checked(response, "uploading the bundle")
        return str(payload["cid"]), int(payload["size"])

    def download(self, cid: Cid, out: BinaryIO) -> int:
        """GET /ipfs/{cid} into `out`; returns the bytes written (the caller verifies the CID)."""
        with self._request(), self._http.stream("GET", f"/ipfs/{cid}", timeout=httpx.Timeout(30.0)) as r:
            if r.status_code != 200:
                r.read()
                self._checked(r, f"fetching {cid}")
            written = 0
            for chunk in r.iter_bytes(256 * 1024):
                out.write(chunk)
                written += len(chunk)
        return written

    def _config(self) -> dict[str, Any]:
        with self._request():
            response = self._http.get("/config")
        return self._checked(response, "reading the gateway's configuration")

    def runtime_images(self) -> dict[str, str]:
        """GET /config `runtime_images`: image name -> the id this network's nodes run (may be empty)."""
        images = self._config().get("runtime_images")
        return {str(k): str(v) for k, v in images.items()} if isinstance(images, dict) else {}

    def market_address(self) -> str | None:
        """GET /config `market`: the market the gateway indexes (None before a deployment)."""
        market = self._config().get("market")
        return str(market) if market else None

    def job_reports(self, job_id: JobId) -> dict[str, Any]:
        """GET /jobs/{id} `reports`: providers' skip reasons and energy records (their own claims)."""
        with self._request():
            response = self._http.get(f"/jobs/{job_id}", headers={"Accept": "application/json"})
        reports = self._checked(response, f"reading job {job_id} from the gateway").get("reports")
        return reports if isinstance(reports, dict) else {}

    def read_logs(self, job_id: JobId, *, after: int = -1, limit: int = 1000) -> LogPage:
        with self._request():
            response = self._http.get(log_path(job_id), params={"after": after, "limit": limit})
        payload = self._checked(response, f"reading job {job_id}'s logs")
        lines = [_line(item) for item in payload["data"]]
        if "next_after" in payload:
            next_after = None if payload["next_after"] is None else int(payload["next_after"])
        else:  # a gateway that does not bound pages in bytes: a full page may have more after it
            next_after = lines[-1].seq if len(lines) == limit else None
        return LogPage(
            lines,
            int(payload["next_seq"]),
            str(payload["job_state"]),
            [_gap(item) for item in payload.get("gaps") or []],
            next_after,
        )

    def follow_logs(
        self,
        job_id: JobId,
        *,
        after: int = -1,
        idle_timeout_s: float = 60.0,
        on_open: Callable[[], None] | None = None,
    ) -> Iterator[LogLine | LogGap | str]:
        """Lines and gaps as they arrive (Server-Sent Events), then the job's final state (a `str`).

        Raises `GatewayUnreachable` when the stream cannot be opened, breaks, stays silent (not even a
        heartbeat) for `idle_timeout_s`, or ends before the job does; `crowdcompute.requester.logs`
        reconnects. `on_open` is called once the gateway has accepted the stream.
        """
        params: dict[str, str | int] = {"follow": "true", "after": after}
        timeout = httpx.Timeout(30.0, read=idle_timeout_s)  # heartbeats come well within it
        with self._request(), self._http.stream("GET", log_path(job_id), params=params, timeout=timeout) as r:
            if r.status_code != 200:
                r.read()
                self._checked(r, f"following job {job_id}'s logs")
            if on_open is not None:
                on_open()
            event, data = "message", ""
            for raw in r.iter_lines():
                if raw.startswith(":"):
                    continue
                if raw == "":
                    if data:
                        parsed = json.loads(data)
                        if event == "log":
                            yield _line(parsed)
                        elif event == "gap":
                            yield _gap(parsed)
                        elif event == "end":
                            yield str(parsed["job_state"])
                            return
                    event, data = "message", ""
                elif raw.startswith("event:"):
                    event = raw[6:].strip()
                elif raw.startswith("data:"):
                    data += raw[5:].strip()
        raise GatewayUnreachable(
            f"the gateway at {self.url} closed job {job_id}'s log stream before the job ended"
        )

    @contextlib.contextmanager
    def _request(self) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as exc:
            raise GatewayUnreachable(
                f"no gateway answers at {self.url} ({type(exc).__name__}: {exc}); start one with "
                "`crowdcompute gateway serve`, or pass the right --gateway URL (or use --store-dir)"
            ) from None

    def _checked(self, response: httpx.Response, doing: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success and isinstance(payload, dict):
            return payload
        status = response.status_code
        hint = _HINTS.get(status, f"the gateway answered {status}")
        detail = payload.get("detail") if isinstance(payload, dict) else None
        problems = [
            f"{p.get('field')}: {p.get('message')}"
            for p in (payload.get("problems") or [] if isinstance(payload, dict) else [])
            if isinstance(p, dict)
        ]
        text = detail if isinstance(detail, str) else response.text[:200]
        raise GatewayRefused(f"{doing}: {hint} ({status}): {text}", status, problems)


def _gap(item: dict[str, Any]) -> LogGap:
    return LogGap(int(item["first"]), int(item["last"]))


def _line(item: dict[str, Any]) -> LogLine:
    ts = item.get("ts")
    return LogLine(int(item["seq"]), str(item["text"]), str(item.get("stream", "stdout")), ts)
