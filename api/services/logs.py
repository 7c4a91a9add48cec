"""The log relay: providers push numbered lines, readers fetch them or follow them as Server-Sent Events.

Each (job, seq) is stored once: a line sent again with the same content is a harmless duplicate, with other
content a conflict. A provider may skip seqs (lines its spool dropped when full): the missing ranges are
gaps, which readers are told about (`gaps` in a page, `gap` events in a stream), never papered over.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.db import Connection, Database, Row
from api.errors import ConflictError, InvalidRequestError
from api.gateway import Gateway
from api.indexer.projection import TERMINAL_STATES
from api.models.logs import (
    LogBatchAccepted,
    LogBatchCreate,
    LogGapPublic,
    LogLinePublic,
    LogLinesPublic,
)
from api.services.auth import LogBatchClaim
from api.services.queries import get_job_state
from chain import JobId


def next_seq(conn: Connection, job_id: JobId) -> int:
    row = conn.execute("SELECT MAX(seq) FROM job_logs WHERE job_id = ?", (job_id,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


STREAM_BATCH_LINES = 500
STREAM_BATCH_BYTES = 16 * 1024
"""What one poll of a log stream reads at most: a stream held up by a slow client holds no more than this."""


def parse_batch(body: bytes) -> LogBatchCreate:
    """The push body as a `LogBatchCreate` (422 as FastAPI words it when the JSON or its shape is wrong).

    Blocking on a large body: call from a worker thread."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", getattr(exc, "pos", 0)),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc)[:200]},
                }
            ]
        ) from None
    try:
        return LogBatchCreate.model_validate(payload)
    except ValidationError as exc:
        raise RequestValidationError(
            [_public_error(error) for error in exc.errors(include_url=False)]
        ) from None


def _public_error(error: Any) -> dict[str, Any]:
    """A validation error as the 422 shows it: located in the body, and echoing its input only when that
    is a short scalar (never a whole batch back; NaN and Infinity, which JSON cannot carry, as words)."""
    public = {key: value for key, value in error.items() if key != "input"}
    public["loc"] = ("body", *error["loc"])
    value = error.get("input")
    if isinstance(value, float) and not math.isfinite(value):
        public["input"] = str(value)
    elif (
        value is None
        or isinstance(value, (bool, int, float))
        or (isinstance(value, str) and len(value) <= 200)
    ):
        public["input"] = value
    return public


def check_batch(batch: LogBatchCreate, *, max_lines: int, max_line_bytes: int) -> None:
    if len(batch.lines) > max_lines:
        raise InvalidRequestError(f"a batch holds at most {max_lines} lines; got {len(batch.lines)}")
    first = batch.lines[0].seq
    for offset, line in enumerate(batch.lines):
        if line.seq != first + offset:
            raise InvalidRequestError(f"line {offset} has seq {line.seq}; a batch's seqs are consecutive")
        try:
            size = len(line.text.encode())
        except UnicodeEncodeError as exc:
            raise InvalidRequestError(
                f"line seq {line.seq} holds a lone UTF-16 surrogate ({exc.object[exc.start : exc.end]!r} at "
                f"character {exc.start}), which is not Unicode text; replace it (e.g. with U+FFFD) and resend"
            ) from None
        if size > max_line_bytes:
            raise InvalidRequestError(f"line seq {line.seq} is longer than {max_line_bytes} bytes")


def push_lines(gateway: Gateway, job_id: JobId, claim: LogBatchClaim, body: bytes) -> LogBatchAccepted:
    """The part of a push that costs CPU, in a worker thread: parse, validate, verify the signature over
    the body, check, store. The caller already checked (from the headers) that the claim is the provider's."""
    batch = parse_batch(body)
    gateway.auth.verify_log_batch(claim, job_id, batch.lines[0].seq, body)
    settings = gateway.settings
    check_batch(batch, max_lines=settings.log_batch_max_lines, max_line_bytes=settings.log_line_max_bytes)
    return append_lines(gateway.db, job_id, batch)


def append_lines(db: Database, job_id: JobId, batch: LogBatchCreate) -> LogBatchAccepted:
    """Store a batch once per (job, seq): a line stored before with the same text is skipped, with other
    text it is a conflict; seqs past the end are stored as they come (what was skipped is a gap)."""
    now = time.time()
    with db.write() as conn:
        first, last = batch.lines[0].seq, batch.lines[-1].seq
        rows = conn.execute(
            "SELECT seq, text, stream FROM job_logs WHERE job_id = ? AND seq BETWEEN ? AND ?",
            (job_id, first, last),
        ).fetchall()
        stored_lines = {int(row["seq"]): (row["text"], row["stream"]) for row in rows}
        accepted = duplicates = 0
        for line in batch.lines:
            stored = stored_lines.get(line.seq)
            if stored is not None:
                if stored == (line.text, line.stream):
                    duplicates += 1
                    continue
                raise ConflictError(
                    f"job {job_id}'s log line {line.seq} is already stored with other content; "
                    f"the log continues at seq {next_seq(conn, job_id)}"
                )
            conn.execute(
                "INSERT INTO job_logs (job_id, seq, stream, text, ts, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, line.seq, line.stream, line.text, line.ts, now),
            )
            accepted += 1
        return LogBatchAccepted(accepted=accepted, duplicates=duplicates, next_seq=next_seq(conn, job_id))


def _public_line(row: Row) -> LogLinePublic:
    ts = row["ts"]
    if ts is not None and not math.isfinite(ts):
        ts = None  # stored before timestamps had to be finite; JSON has no Infinity
    return LogLinePublic(seq=row["seq"], text=row["text"], stream=row["stream"], ts=ts)


def _line_bytes(line: LogLinePublic) -> int:
    """About what the line costs in a JSON page (the text as encoded, plus its fields)."""
    return len(json.dumps(line.text, ensure_ascii=False).encode("utf-8", "surrogatepass")) + 64


def _lines(
    conn: Connection, job_id: JobId, after: int, limit: int, max_bytes: int
) -> tuple[list[LogLinePublic], bool]:
    """Up to `limit` lines after seq `after`, stopping before their size passes `max_bytes` (always one
    line at least); True when the byte bound cut the page short."""
    cursor = conn.execute(
        "SELECT seq, text, stream, ts FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (job_id, after, limit),
    )
    lines: list[LogLinePublic] = []
    size = 0
    try:
        for row in cursor:  # row by row: a page never holds more than its bound in memory
            line = _public_line(row)
            size += _line_bytes(line)
            if lines and size > max_bytes:
                return lines, True
            lines.append(line)
    finally:
        cursor.close()
    return lines, False


def _more_after(conn: Connection, job_id: JobId, seq: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM job_logs WHERE job_id = ? AND seq > ? LIMIT 1", (job_id, seq)
    ).fetchone()
    return row is not None


def gaps_in(lines: list[LogLinePublic], after: int) -> list[LogGapPublic]:
    """The seqs missing between `after` and each line, in order (lines sorted by seq)."""
    gaps: list[LogGapPublic] = []
    expected = after + 1
    for line in lines:
        if line.seq > expected:
            gaps.append(LogGapPublic(first=expected, last=line.seq - 1))
        expected = line.seq + 1
    return gaps


def read_lines(conn: Connection, job_id: JobId, *, after: int, limit: int, max_bytes: int) -> LogLinesPublic:
    """One page: at most `limit` lines and about `max_bytes` bytes of them; `next_after` says where the next
    page starts while more lines are stored."""
    state, _ = get_job_state(conn, job_id)
    data, truncated = _lines(conn, job_id, after, limit, max_bytes)
    more = bool(data) and _more_after(conn, job_id, data[-1].seq)
    return LogLinesPublic(
        data=data,
        count=len(data),
        gaps=gaps_in(data, after),
        next_seq=next_seq(conn, job_id),
        job_state=state,
        truncated=truncated,
        next_after=data[-1].seq if more else None,
    )


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    # allow_nan=False: an event is JSON that browsers parse, and JSON has no NaN or Infinity.
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=False)}\n\n"


async def follow_lines(
    db: Database,
    job_id: JobId,
    *,
    after: int,
    heartbeat_s: float,
    poll_s: float,
    batch: int = STREAM_BATCH_LINES,
    batch_bytes: int = STREAM_BATCH_BYTES,
    executor: Executor | None = None,
) -> AsyncIterator[str]:
    """SSE: `log` events (id = seq) as lines arrive, a `gap` event (id = its last seq) before a line that
    follows missing seqs, heartbeat comments, and `end` with the final state. Polls run on `executor` when
    given (a few threads for all streams, so many streams do not take every worker thread and its
    SQLite connection), else on the shared worker threads."""

    def poll(cursor: int) -> tuple[list[LogLinePublic], bool, str]:
        with db.read() as conn:
            state, _ = get_job_state(conn, job_id)
            lines, truncated = _lines(conn, job_id, cursor, batch, batch_bytes)
            return lines, truncated, state

    cursor = after
    quiet_since = time.monotonic()
    while True:
        if executor is None:
            lines, truncated, state = await run_in_threadpool(poll, cursor)
        else:
            lines, truncated, state = await asyncio.get_running_loop().run_in_executor(executor, poll, cursor)
        for line in lines:
            if line.seq > cursor + 1:
                gap = LogGapPublic(first=cursor + 1, last=line.seq - 1)
                yield _sse("gap", gap.model_dump(), gap.last)
            yield _sse("log", line.model_dump(), line.seq)
            cursor = line.seq
        if lines:
            quiet_since = time.monotonic()
            if truncated or len(lines) == batch:
                continue
        if state in TERMINAL_STATES:
            yield _sse("end", {"job_state": state, "next_seq": cursor + 1})
            return
        if time.monotonic() - quiet_since >= heartbeat_s:
            yield ": heartbeat\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_s)
