"""How the demo talks: timestamped steps, the job's live log, and a spinner naming what it waits for.

Everything goes through one rich `Console`, so log lines printed from the tailing thread and the spinner
never tear each other. Without a terminal the spinner is skipped and the lines print plainly.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from rich.console import Console
from rich.markup import escape
from rich.status import Status

__all__ = ["Narrator"]

_MAX_LINE = 160


class Narrator:
    def __init__(self, console: Console | None = None, *, show_job_log: bool = True) -> None:
        # soft_wrap: a long line (a CID, a path) stays one line in a log file; terminals wrap it themselves.
        width = None if sys.stdout.isatty() else 200  # rich's 80 columns off a terminal would wrap tables
        self.console = console or Console(highlight=False, soft_wrap=True, width=width)
        self.show_job_log = show_job_log
        self.started = time.monotonic()
        self.segments: int | None = None  # set by the flow, to show "segment 12/40"
        self._status: Status | None = None
        self._lock = threading.Lock()

    def _stamp(self) -> str:
        return f"[dim]{time.monotonic() - self.started:6.1f}s[/dim]"

    def step(self, text: str) -> None:
        """A milestone: printed with the time since the demo started."""
        with self._lock:
            self.console.print(f"{self._stamp()} {escape(text)}")

    def good(self, text: str) -> None:
        with self._lock:
            self.console.print(f"{self._stamp()} [green]✓[/green] {escape(text)}")

    def bad(self, text: str) -> None:
        with self._lock:
            self.console.print(f"{self._stamp()} [red]✗[/red] {escape(text)}")

    def note(self, text: str) -> None:
        with self._lock:
            self.console.print(f"         [dim]{escape(text)}[/dim]")

    def job_log(self, text: str) -> None:
        """One line of the job's own output, as the gateway relays it from the provider."""
        if not self.show_job_log:
            return
        shown = self._metrics(text) or text
        if len(shown) > _MAX_LINE:
            shown = shown[: _MAX_LINE - 1] + "…"
        with self._lock:
            self.console.print(f"         [cyan]│[/cyan] [dim]{escape(shown)}[/dim]")

    def _metrics(self, text: str) -> str | None:
        """The SDK's `{"event": "metrics", ...}` lines, written for people."""
        if not text.startswith("{"):
            return None
        try:
            record = json.loads(text)
        except ValueError:
            return None
        if not isinstance(record, dict) or record.get("event") != "metrics":
            return None
        segment = record.get("segment")
        total = f"/{self.segments}" if self.segments else ""
        loss = record.get("loss")
        loss_text = f"{loss:.4f}" if isinstance(loss, float) else str(loss)
        number = segment + 1 if isinstance(segment, int) else segment
        return f"segment {number}{total}  step {record.get('step')}  loss {loss_text}"

    def waiting(self, text: str) -> None:
        """Show (or change) what the demo is waiting for; only on a terminal."""
        if not self.console.is_terminal:
            return
        with self._lock:
            if self._status is None:
                self._status = self.console.status(text, spinner="dots")
                self._status.start()
            else:
                self._status.update(text)

    def done_waiting(self) -> None:
        with self._lock:
            if self._status is not None:
                self._status.stop()
                self._status = None
