"""Pieces the executors share: measuring an output folder, and saying in words how a process ended."""

from __future__ import annotations

import os
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

from jobs.executors.base import ExecutionRequest


@dataclass(frozen=True, slots=True)
class OutputLimits:
    """The caps on an execution's output folder."""

    max_bytes: int
    max_entries: int

    @classmethod
    def of(cls, request: ExecutionRequest) -> OutputLimits:
        return cls(request.output_limit_bytes, request.output_max_files)


@dataclass(frozen=True, slots=True)
class DirUsage:
    """What a folder holds. `truncated`: the walk stopped early because a limit was already passed."""

    bytes: int
    entries: int
    unreadable: int = 0
    truncated: bool = False

    def over(self, limits: OutputLimits) -> bool:
        return self.bytes > limits.max_bytes or self.entries > limits.max_entries


def measure_dir(root: Path, *, stop_bytes: int | None = None, stop_entries: int | None = None) -> DirUsage:
    """Bytes and entries under `root`, never following links; stops once a `stop_*` figure is passed.

    A file counts the larger of its length and its allocated blocks: a sparse file is as big as what
    would be uploaded, and a file full of holes still costs its blocks on disk.
    """
    total = entries = unreadable = 0
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # removed while we looked
                    except OSError:
                        unreadable += 1
                        continue
                    entries += 1
                    total += max(info.st_size, info.st_blocks * 512)
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
                    if (stop_bytes is not None and total > stop_bytes) or (
                        stop_entries is not None and entries > stop_entries
                    ):
                        return DirUsage(total, entries, unreadable, truncated=True)
        except FileNotFoundError:
            continue
        except OSError:
            unreadable += 1
    return DirUsage(total, entries, unreadable)


def measure_output(root: Path, limits: OutputLimits) -> DirUsage:
    """An output folder against its limits (the walk stops just past them)."""
    return measure_dir(root, stop_bytes=limits.max_bytes, stop_entries=limits.max_entries)


def output_breach(limits: OutputLimits, usage: DirUsage) -> str:
    """Words for an output folder over its limits."""
    seen = "at least " if usage.truncated else ""
    return (
        f"output reached {seen}{format_bytes(usage.bytes)} in {seen}{usage.entries} entries; "
        f"the limit is {format_bytes(limits.max_bytes)} in {limits.max_entries} entries"
    )


def describe_exit(exit_code: int, last_line: str = "") -> str:
    """'exited with code 1: ValueError: ...' or 'killed by SIGKILL (exit code 137)'."""
    if exit_code < 0:
        words = f"killed by {_signal_name(-exit_code)}"
    elif exit_code > 128 and _signal_name(exit_code - 128, default=""):
        words = f"killed by {_signal_name(exit_code - 128)} (exit code {exit_code})"
    else:
        words = f"exited with code {exit_code}"
    if last_line:
        words += f": {last_line[:300]}"
    return words


def format_bytes(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _signal_name(number: int, default: str | None = None) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}" if default is None else default
