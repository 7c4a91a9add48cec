"""The provider's log spool: numbered lines on disk, kept across restarts, bounded with head and tail kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider_node.log_spool import LogSpool


def texts(spool: LogSpool, limit: int = 10_000) -> list[tuple[int, str]]:
    return [(line.seq, line.text) for line in spool.batch(limit, 1 << 30)]


def drain(spool: LogSpool) -> list[int]:
    """Deliver everything, batch by batch, as the pusher does; the seqs delivered."""
    seqs: list[int] = []
    while batch := spool.batch(7, 1 << 30):
        seqs.extend(line.seq for line in batch)
        spool.mark_delivered(batch[-1].seq)
    return seqs


def test_lines_keep_their_numbers_across_a_restart_and_a_torn_line_is_cut(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path / "1")
    for i in range(5):
        assert spool.append(f"line {i}", ts=1.0) == i
    spool.mark_delivered(1)
    spool.close()
    segment = next((tmp_path / "1").glob("seg-*.jsonl"))
    with segment.open("ab") as handle:
        handle.write(b'{"s":5,"t":"half a li')  # the process died in the middle of a write

    again = LogSpool(tmp_path / "1")
    assert texts(again) == [(2, "line 2"), (3, "line 3"), (4, "line 4")]
    assert again.append("after the restart") == 5
    assert drain(again) == [2, 3, 4, 5]
    assert again.pending == 0 and not list((tmp_path / "1").glob("seg-*.jsonl"))
    assert LogSpool(tmp_path / "1").append("next") == 6, "numbering goes on once all is delivered"


def test_a_full_spool_keeps_the_head_and_the_newest_lines_and_records_what_it_dropped(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path / "1", max_bytes=32 * 1024, segment_bytes=2048)
    for i in range(2000):
        spool.append(f"line {i:04d} " + "x" * 30)
    assert sum(p.stat().st_size for p in (tmp_path / "1").glob("seg-*")) <= 32 * 1024 + 2048
    assert len(spool.dropped) == 1
    first, last = spool.dropped[0]
    head = sorted((tmp_path / "1").glob("seg-*"))[0]
    record_bytes = len(head.read_bytes().splitlines(keepends=True)[0])
    assert 14 * 1024 <= first * record_bytes <= 16 * 1024, "half the budget holds the head of the log"
    delivered = drain(spool)
    assert delivered == [*range(first), *range(last + 1, 2000)]
    assert LogSpool(tmp_path / "1").dropped == [[first, last]], "the dropped range is saved"


def test_replayed_output_is_recognised_after_a_restart(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path / "1")
    for i in range(3):
        spool.append(f"out {i}", source="exec-1")
    spool.append("node line")
    spool.mark_delivered(2)  # the output lines are delivered and their segment is gone
    spool.close()
    again = LogSpool(tmp_path / "1")
    assert again.already_spooled("exec-1") == 3 and again.already_spooled("exec-2") == 0


def test_rebase_sends_what_is_left_after_the_gateways_end(tmp_path: Path) -> None:
    spool = LogSpool(tmp_path / "1")
    for i in range(4):
        spool.append(f"line {i}")
    spool.mark_delivered(0)
    spool.rebase(40)
    assert [seq for seq, _ in texts(spool)] == [40, 41, 42]
    spool.mark_delivered(41)
    spool.close()
    assert [seq for seq, _ in texts(LogSpool(tmp_path / "1"))] == [42]


def test_settings_that_cannot_hold_a_head_and_a_tail_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="quarter"):
        LogSpool(tmp_path / "1", max_bytes=64 * 1024, segment_bytes=32 * 1024)
