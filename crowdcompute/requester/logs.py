"""Reading a job's whole log, and following it through gateway restarts.

`read_log` pages through every stored line, with the gaps among them. `follow_log` wraps
`GatewayClient.follow_logs`: when the stream cannot be opened or breaks (the gateway restarts, a proxy
drops an idle stream), it waits (0.5 s, doubling up to `max_delay_s`), says so through `on_retry`, and
opens the stream again after the last seq it has passed on, so no line is given twice and none is skipped.
Gaps the gateway reports (lines it never received) are passed on as `LogGap`s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chain import JobId
from crowdcompute.requester.errors import GatewayRefused, GatewayUnreachable
from crowdcompute.requester.gateway import GatewayClient, LogGap, LogLine, LogPage

__all__ = ["Retry", "follow_log", "read_log"]

PAGE_LINES = 1000


@dataclass(frozen=True)
class Retry:
    """The stream was lost (`reason`); the next try comes in `delay_s` and resumes after seq `after`."""

    attempt: int
    delay_s: float
    reason: str
    after: int


def read_log(client: GatewayClient, job_id: JobId, *, after: int = -1) -> LogPage:
    """Every stored line after seq `after`, page by page, with the gaps among them, as one page."""
    lines: list[LogLine] = []
    gaps: list[LogGap] = []
    while True:
        page = client.read_logs(job_id, after=after, limit=PAGE_LINES)
        lines.extend(page.lines)
        gaps.extend(page.gaps)
        if page.next_after is None:  # pages end at a line count or a byte size, whichever comes first
            return LogPage(lines, page.next_seq, page.job_state, gaps)
        after = page.next_after


def follow_log(
    client: GatewayClient,
    job_id: JobId,
    *,
    after: int = -1,
    on_retry: Callable[[Retry], None] | None = None,
    on_resume: Callable[[int], None] | None = None,
    first_delay_s: float = 0.5,
    max_delay_s: float = 10.0,
    give_up_after_s: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogLine | LogGap | str]:
    """The job's lines and gaps from seq `after` + 1 on, each once and in order, then its final state.

    Reconnects until a stream has stayed unavailable for `give_up_after_s`, then raises
    `GatewayUnreachable`; a refusal that waiting cannot change (a job the gateway does not know) is raised
    at once. `on_resume(after)` is called when a stream opens again after a retry.
    """
    cursor = after
    attempt = 0
    failing_since: float | None = None

    def opened() -> None:
        nonlocal attempt, failing_since
        if attempt and on_resume is not None:
            on_resume(cursor)
        attempt, failing_since = 0, None

    while True:
        try:
            for item in client.follow_logs(job_id, after=cursor, on_open=opened):
                if isinstance(item, LogLine):
                    if item.seq <= cursor:
                        continue
                    cursor = item.seq
                elif isinstance(item, LogGap):
                    if item.last <= cursor:
                        continue
                    item = LogGap(max(item.first, cursor + 1), item.last)
                    cursor = item.last
                yield item
                if isinstance(item, str):
                    return
            reason = "the stream ended before the job did"
        except GatewayUnreachable as exc:
            reason = str(exc)
        except GatewayRefused as exc:
            if exc.status < 500 and exc.status not in (408, 429):
                raise
            reason = str(exc)
        now = time.monotonic()
        failing_since = now if failing_since is None else failing_since
        if now - failing_since >= give_up_after_s:
            raise GatewayUnreachable(
                f"gave up following job {job_id}'s log after {now - failing_since:.0f} s without a gateway "
                f"({reason}); run the command again with --after {cursor} to go on from here"
            )
        attempt += 1
        delay = min(first_delay_s * 2 ** (attempt - 1), max_delay_s)
        if on_retry is not None:
            on_retry(Retry(attempt, delay, reason, cursor))
        sleep(delay)
