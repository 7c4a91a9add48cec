"""What the `run` commands of the node daemons share: their options, their log, and running until a signal."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from cli_support.output import Output

if TYPE_CHECKING:
    from jobs.store import ContentStore

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "ConfirmationsOption",
    "Daemon",
    "GatewayOption",
    "PollIntervalOption",
    "StoreDirOption",
    "open_node_store",
    "run_daemon",
    "run_until_stopped",
    "setup_daemon_logging",
    "stop_on_signals",
]

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8000"
"""Where `crowdcompute gateway serve` listens by default: on one machine, the nodes find it there."""

GatewayOption = Annotated[
    str,
    typer.Option(
        "--gateway",
        envvar="CROWDCOMPUTE_GATEWAY_URL",
        help="Gateway to fetch content from, publish results and push logs to ('' for none).",
    ),
]
StoreDirOption = Annotated[
    Path | None, typer.Option(help="Embedded store [env CROWDCOMPUTE_STORE_DIR].", show_default=False)
]
PollIntervalOption = Annotated[float, typer.Option(min=0.05, help="Seconds between idle polls.")]
ConfirmationsOption = Annotated[int, typer.Option(min=0, help="Blocks an event waits before use.")]


class Daemon(Protocol):
    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class _Closeable(Protocol):
    def close(self) -> None: ...


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return json.dumps(entry)


def setup_daemon_logging(as_json: bool) -> None:
    """A daemon's log: one JSON object per line on stdout with --json, else readable lines on stderr."""
    handler = logging.StreamHandler(sys.stdout if as_json else sys.stderr)
    if as_json:
        handler.setFormatter(_JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so a daemon finishes its step and shuts down cleanly."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def open_node_store(store_dir: Path | None, gateway_url: str | None = None) -> ContentStore:
    """The content a node reads: its store (`--store-dir`, else the environment's: CROWDCOMPUTE_STORE_DIR,
    CROWDCOMPUTE_KUBO_API), then the gateway at `gateway_url`; fetched content is verified and kept."""
    from jobs.store import StoreSettings, open_node_content  # not at import: other commands do not need it

    settings = StoreSettings(store_dir=store_dir) if store_dir else None
    return open_node_content(settings, gateway_url=gateway_url or None)


def run_until_stopped(
    node: Daemon,
    out: Output,
    failures: tuple[type[BaseException], ...],
    resources: Iterable[_Closeable],
) -> None:
    """Run `node` until SIGINT or SIGTERM; a failure closes it and ends the command with one line. The
    `resources` (its executor, its store) are closed in every case."""
    stop = stop_on_signals()
    try:
        node.run(stop)
    except failures as exc:
        node.close()
        out.fail(exc)
    finally:
        for resource in resources:
            resource.close()


def run_daemon(
    out: Output,
    failures: tuple[type[BaseException], ...],
    build: Callable[[], tuple[Daemon, Iterable[_Closeable]]],
) -> None:
    """A `run` command: the daemon's log set up, the node built by `build` (with the resources to close
    after it), then run until stopped; any of `failures` ends the command with one line."""
    setup_daemon_logging(out.as_json)
    try:
        node, resources = build()
    except failures as exc:
        out.fail(exc)
    run_until_stopped(node, out, failures, resources)
