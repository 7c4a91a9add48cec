"""What the daemons' `run` commands share: the log format, stopping on a signal, and running until stopped."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections.abc import Iterator

import pytest
import typer

from cli_support import Output, run_daemon, run_until_stopped, setup_daemon_logging, stop_on_signals


@pytest.fixture
def restored() -> Iterator[None]:
    """The root logger's handlers and the signal handlers as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_the_json_log_is_one_object_per_line_on_stdout(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_daemon_logging(as_json=True)
    logging.getLogger("provider_node.daemon").info("job %d: claimed", 7)
    entry = json.loads(capsys.readouterr().out)
    assert entry["level"] == "info" and entry["logger"] == "provider_node.daemon"
    assert entry["message"] == "job 7: claimed" and entry["ts"] > 0
    setup_daemon_logging(as_json=False)
    logging.getLogger("validator.daemon").warning("behind")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.rstrip().endswith("WARNING behind")


def test_sigterm_sets_the_stop_event(restored: None) -> None:
    stop = stop_on_signals()
    assert not stop.is_set()
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.wait(5)


class Node:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.stopped_by: threading.Event | None = None
        self.closed = False

    def run(self, stop: threading.Event) -> None:
        self.stopped_by = stop
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True


class Resource:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_run_until_stopped_closes_the_resources(restored: None) -> None:
    node, resources = Node(), [Resource(), Resource()]
    run_until_stopped(node, Output(as_json=True), (ValueError,), resources)
    assert node.stopped_by is not None and not node.closed  # the node closes itself when it stops
    assert all(resource.closed for resource in resources)


def test_a_failure_closes_the_node_and_ends_the_command_with_one_line(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    node, resource = Node(ValueError("not registered")), Resource()
    with pytest.raises(typer.Exit):
        run_until_stopped(node, Output(as_json=True), (ValueError,), [resource])
    assert node.closed and resource.closed
    assert json.loads(capsys.readouterr().out) == {"error": "ValueError", "message": "not registered"}
    other = Node(KeyError("a bug"))
    with pytest.raises(KeyError):
        run_until_stopped(other, Output(as_json=True), (ValueError,), [resource])


def test_run_daemon_builds_then_runs_and_a_failed_build_is_one_line(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    node, resource = Node(), Resource()
    run_daemon(Output(as_json=True), (ValueError,), lambda: (node, [resource]))
    assert node.stopped_by is not None and resource.closed

    def refuse() -> tuple[Node, list[Resource]]:
        raise ValueError("--min-price must be >= 0 tokens, got -1")

    with pytest.raises(typer.Exit):
        run_daemon(Output(as_json=True), (ValueError,), refuse)
    error = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert error == {"error": "ValueError", "message": "--min-price must be >= 0 tokens, got -1"}
