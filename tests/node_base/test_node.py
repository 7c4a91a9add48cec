"""The node base on its own: restart handling once before the first round, the loop's backoff and waits,
worker threads, `wait_idle` and `close` (no chain: a scripted round and a fake reader)."""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from chain import Role, RpcUnreachable
from tests.node_base.scratch_node import RecordingStop, ScratchError, ScratchNode, ScratchReport, unreachable


def test_the_first_step_resumes_once_before_its_round(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path)
    node.step()
    node.step()
    assert (node.starts, node.rounds) == (1, 2)


def test_an_account_without_the_role_is_refused_and_the_next_step_tries_again(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, role=Role.VALIDATOR)
    with pytest.raises(ScratchError) as refused:
        node.step()
    assert str(refused.value) == (
        f"{node.me} is not registered as a provider: run `crowdcompute provider register` first"
    )
    with pytest.raises(ScratchError):
        node.step()
    assert (node.starts, node.rounds) == (2, 0)


def test_a_chain_that_does_not_answer_is_retried_with_doubling_waits_up_to_the_cap(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, poll_interval_s=0.1)
    node.script = [unreachable(), unreachable(), unreachable(), unreachable(), ScratchReport(did=["x"])]
    node.script += [unreachable(), unreachable()]
    stop = RecordingStop(waits=6)
    node.run(stop)
    # 0.1, 0.2, 0.4, then the cap (0.4); a good round resets the delay to the poll interval.
    assert stop.waited == pytest.approx([0.1, 0.2, 0.4, 0.4, 0.1, 0.2])
    assert node.state.closed, "run closes the node when it stops"


def test_a_full_disk_is_waited_out_with_backoff_not_fatal(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, poll_interval_s=0.1)
    full = OSError(errno.ENOSPC, "No space left on device")
    state_full = sqlite3.OperationalError("database or disk is full")
    state_full.sqlite_errorcode = sqlite3.SQLITE_FULL  # as SQLite sets it
    node.script = [full, state_full, ScratchReport(did=["x"]), full]
    stop = RecordingStop(waits=3)
    node.run(stop)
    # 0.1, 0.2; a good round resets the delay to the poll interval.
    assert stop.waited == pytest.approx([0.1, 0.2, 0.1])
    assert node.rounds == 4


def test_other_disk_errors_end_the_loop(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path)
    node.script = [PermissionError(errno.EACCES, "Permission denied")]
    with pytest.raises(PermissionError):
        node.run(threading.Event())
    locked = ScratchNode(tmp_path / "locked")
    locked.script = [sqlite3.OperationalError("database is locked")]
    with pytest.raises(sqlite3.OperationalError):
        locked.run(threading.Event())


def test_other_errors_end_the_loop(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path)
    node.script = [KeyError("a bug")]
    with pytest.raises(KeyError):
        node.run(threading.Event())


def test_a_busy_round_is_followed_by_another_at_once(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, poll_interval_s=60.0)
    node.script = [ScratchReport(did=["claimed"]), ScratchReport(behind=True), ScratchReport(did=["voted"])]
    stop = threading.Event()
    node.on_round = lambda: stop.set() if node.rounds == 4 else None
    began = time.monotonic()
    node.run(stop)
    assert node.rounds == 4 and time.monotonic() - began < 5


def test_a_stop_ends_an_idle_wait_at_once(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, poll_interval_s=60.0)
    stop = threading.Event()
    loop = threading.Thread(target=node.run, args=(stop,), daemon=True)
    loop.start()
    while node.rounds == 0:
        time.sleep(0.01)
    time.sleep(0.1)  # idle now, waiting up to a minute
    stop.set()
    loop.join(5)
    assert not loop.is_alive() and node.rounds == 1


def test_a_worker_that_wakes_the_loop_ends_the_idle_wait(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path, poll_interval_s=60.0)
    stop = threading.Event()

    def worker() -> None:
        time.sleep(0.1)
        node._wake.set()

    node.on_round = lambda: node._spawn(node.rounds, worker, "worker") if node.rounds == 1 else stop.set()
    loop = threading.Thread(target=node.run, args=(stop,), daemon=True)
    loop.start()
    loop.join(5)
    assert not loop.is_alive() and node.rounds == 2


def test_wait_idle_and_close_with_workers(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path)
    release = threading.Event()
    node._spawn(1, lambda: None, "quick")
    node._spawn(2, release.wait, "held")
    assert node.wait_idle(0.1) is False, "a worker still runs"
    assert node._finished_workers() == [1]
    release.set()
    assert node.wait_idle(5) is True
    assert node._finished_workers() == [2] and node._finished_workers() == []

    node._spawn(3, node._stop.wait, "until-close")  # a worker that ends when the node stops
    node.close(timeout=5)
    assert node._stop.is_set() and node._workers == {} and node.state.closed


class FakeReader:
    batch_blocks = 10

    def __init__(self, blocks: int, events: list[str]) -> None:
        self.batch = SimpleNamespace(from_block=1, to_block=blocks, events=events)
        self.calls: list[str] = []

    def poll(self, *, commit: bool = True) -> SimpleNamespace:
        assert commit is False, "the batch is committed only after the role has applied it"
        self.calls.append("poll")
        return self.batch

    def commit(self, batch: SimpleNamespace) -> None:
        assert batch is self.batch
        self.calls.append("commit")


@pytest.mark.parametrize(("blocks", "behind"), [(3, False), (10, True)])
def test_events_are_applied_before_the_batch_is_committed(tmp_path: Path, blocks: int, behind: bool) -> None:
    node = ScratchNode(tmp_path)
    reader = FakeReader(blocks, ["posted", "claimed"])
    node.reader = reader  # type: ignore[assignment]
    report = ScratchReport()
    node._read_events(report, lambda events: reader.calls.append(f"apply {len(events)}"))
    assert reader.calls == ["poll", "apply 2", "commit"]
    assert (report.events, report.behind, report.busy) == (2, behind, behind)


def test_a_failing_apply_leaves_the_batch_uncommitted(tmp_path: Path) -> None:
    node = ScratchNode(tmp_path)
    reader = FakeReader(3, ["posted"])
    node.reader = reader  # type: ignore[assignment]

    def fail(events: object) -> None:
        raise RpcUnreachable("http://127.0.0.1:1", "ConnectionError")

    with pytest.raises(RpcUnreachable):
        node._read_events(ScratchReport(), fail)
    assert reader.calls == ["poll"]
