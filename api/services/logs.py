"""The log relay: providers push numbered lines, readers fetch them or follow them as Server-Sent Events.

Each (job, seq) is stored once: a line sent again with the same content is a harmless duplicate, with other
content a conflict. A provider may skip seqs (lines its spool dropped when full): the missing ranges are
gaps, which readers are told about (`gaps` in a page, `gap` events in a stream), never papered over.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping

from starlette.concurrency import run_in_threadpool

from api.db import Database
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
from api.services.auth import ensure_address
from api.services.queries import get_job_state
from chain import JobId


def next_seq(conn: sqlite3.Connection, job_id: JobId) -> int:
    row = conn.execute("SELECT MAX(seq) FROM job_logs WHERE job_id = ?", (job_id,)).fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def check_batch(batch: LogBatchCreate, *, max_lines: int, max_line_bytes: int) -> None:
    if len(batch.lines) > max_lines:
        raise InvalidRequestError(f"a batch holds at most {max_lines} lines; got {len(batch.lines)}")
    first = batch.lines[0].seq
    for offset, line in enumerate(batch.lines):
        if line.seq != first + offset:
            raise InvalidRequestError(f"line {offset} has seq {line.seq}; a batch's seqs are consecutive")
        if len(line.text.encode()) > max_line_bytes:
            raise InvalidRequestError(f"line seq {line.seq} is longer than {max_line_bytes} bytes")


def push_lines(
    gateway: Gateway, job_id: JobId, batch: LogBatchCreate, body: bytes, headers: Mapping[str, str], ip: str
) -> LogBatchAccepted:
    """Authenticate a push (only the job's provider, as indexed, may write its log), check it, store it."""
    caller = gateway.auth.authenticate_log_batch(job_id, batch.lines[0].seq, body, headers, ip)
    _, provider = get_job_state(gateway.db.connection(), job_id)
    ensure_address(caller, provider, f"job {job_id}'s log")
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


def _lines(conn: sqlite3.Connection, job_id: JobId, after: int, limit: int) -> list[LogLinePublic]:
    rows = conn.execute(
        "SELECT seq, text, stream, ts FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (job_id, after, limit),
    ).fetchall()
    return [LogLinePublic.model_validate(dict(r)) for r in rows]


def gaps_in(lines: list[LogLinePublic], after: int) -> list[LogGapPublic]:
    """The seqs missing between `after` and each line, in order (lines sorted by seq)."""
    gaps: list[LogGapPublic] = []
    expected = after + 1
    for line in lines:
        if line.seq > expected:
            gaps.append(LogGapPublic(first=expected, last=line.seq - 1))
        expected = line.seq + 1
    return gaps


def read_lines(conn: sqlite3.Connection, job_id: JobId, *, after: int, limit: int) -> LogLinesPublic:
    state, _ = get_job_state(conn, job_id)
    data = _lines(conn, job_id, after, limit)
    return LogLinesPublic(
        data=data,
        count=len(data),
        gaps=gaps_in(data, after),
        next_seq=next_seq(conn, job_id),
        job_state=state,
    )


def _sse(event: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def follow_lines(
    db: Database, job_id: JobId, *, after: int, heartbeat_s: float, poll_s: float, batch: int = 500
) -> AsyncIterator[str]:
    """SSE: `log` events (id = seq) as lines arrive, a `gap` event (id = its last seq) before a line that
    follows missing seqs, heartbeat comments, and `end` with the final state."""

    def poll(cursor: int) -> tuple[list[LogLinePublic], str]:
        with db.read() as conn:
            state, _ = get_job_state(conn, job_id)
            return _lines(conn, job_id, cursor, batch), state

    cursor = after
    quiet_since = time.monotonic()
    while True:
        lines, state = await run_in_threadpool(poll, cursor)
        for line in lines:
            if line.seq > cursor + 1:
                gap = LogGapPublic(first=cursor + 1, last=line.seq - 1)
                yield _sse("gap", gap.model_dump(), gap.last)
            yield _sse("log", line.model_dump(), line.seq)
            cursor = line.seq
        if lines:
            quiet_since = time.monotonic()
            if len(lines) == batch:
                continue
        if state in TERMINAL_STATES:
            yield _sse("end", {"job_state": state, "next_seq": cursor + 1})
            return
        if time.monotonic() - quiet_since >= heartbeat_s:
            yield ": heartbeat\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_s)
