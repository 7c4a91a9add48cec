"""What a log push carries: `POST /jobs/{jobId}/logs` with the body `{"lines": [{seq, text, stream, ts}]}`,
signed as a `LogBatch` over these exact bytes (the gateway's models in `api.models.logs` validate it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal, TypedDict

from chain import JobId

LOG_LINE_MAX_BYTES = 16 * 1024
"""The longest line (UTF-8 bytes) a gateway accepts by default."""

LogStream = Literal["stdout", "stderr"]


class LogLineWire(TypedDict):
    seq: int
    text: str
    stream: LogStream
    ts: float | None


def log_path(job_id: JobId) -> str:
    """The URL path of a job's log: push with POST, read (or follow) with GET."""
    return f"/jobs/{job_id}/logs"


def log_batch_body(lines: Sequence[LogLineWire]) -> bytes:
    """The request body of one push; its keccak256 is the `linesHash` that the signature covers."""
    return json.dumps({"lines": list(lines)}, separators=(",", ":")).encode()
