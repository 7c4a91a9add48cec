"""Child processes of the demo: started detached, logged to files, watched, and always stopped.

Each child runs in its own session (process group), so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children in reverse start order: SIGTERM to the group, a grace
period, SIGKILL. Their pids go to `<root>/pids.json` as they start, so a demo that was killed without
a chance to clean up (SIGKILL, a lost terminal) is cleaned up by the next one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crowdcompute.demo.errors import ProcessDied

log = logging.getLogger(__name__)

__all__ = ["ChildProcess", "ProcessDied", "Supervisor", "pid_alive"]


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid`: with the pid, it names one process even after pid reuse."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"


@dataclass
class ChildProcess:
    name: str
    argv: Sequence[str]
    log_file: Path
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def died(self) -> ProcessDied:
        code = self.process.returncode
        return ProcessDied(
            f"{self.name} exited with status {code}; the end of {self.log_file}:\n{log_tail(self.log_file)}"
        )

    def wait_for_log(self, text: str, timeout: float) -> None:
        """Block until `text` appears in the log; raise if the process exits or time runs out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if text in self.log_file.read_text(errors="replace"):
                    return
            if not self.running():
                raise self.died()
            time.sleep(0.1)
        raise ProcessDied(
            f"{self.name} did not log {text!r} within {timeout:g} s; the end of {self.log_file}:\n"
            f"{log_tail(self.log_file)}"
        )


class Supervisor:
    """Starts, watches and stops the demo's processes (see the module docstring)."""

    def __init__(self, root: Path, *, on_event: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.logs = root / "logs"
        self.pid_file = root / "pids.json"
        self.children: list[ChildProcess] = []
        self.extra_pids: dict[str, int] = {}  # processes started through a child that detached (anvil)
        self._on_event = on_event or (lambda _message: None)
        self._lock = threading.RLock()  # registrations start children from several threads

    # -- starting ------------------------------------------------------------------------------------

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> ChildProcess:
        self.logs.mkdir(parents=True, exist_ok=True)
        log_file = self.logs / f"{name}.log"
        with log_file.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=self.root,
                start_new_session=True,
            )
        child = ChildProcess(name, list(argv), log_file, process)
        with self._lock:
            self.children.append(child)
            self._save()
        log.debug("started %s (pid %d): %s", name, process.pid, " ".join(argv))
        return child

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str], timeout: float = 120.0) -> str:
        """Run a short command to completion; its output (also in the log) or `ProcessDied`."""
        child = self.start(name, argv, env)
        try:
            child.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._stop(child, grace=2.0)
            raise ProcessDied(f"{name} did not finish within {timeout:g} s; see {child.log_file}") from None
        finally:
            with self._lock:
                self.children.remove(child)
                self._save()
        if child.process.returncode != 0:
            raise child.died()
        return child.log_file.read_text(errors="replace")

    def adopt(self, name: str, pid: int) -> None:
        """Track a process a child started and left running (its own session), so it is stopped too."""
        with self._lock:
            self.extra_pids[name] = pid
            self._save()

    def check(self) -> None:
        """Raise `ProcessDied` for the first long-running child that has exited."""
        with self._lock:
            children = list(self.children)
        for child in children:
            if not child.running():
                raise child.died()

    # -- stopping ------------------------------------------------------------------------------------

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM every child (newest first) at once, wait up to `grace` s in all, then SIGKILL."""
        for child in reversed(self.children):
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM for %g s; killing it", child.name, child.pid, grace)
                self._on_event(f"{child.name} did not stop in {grace:g} s; killed")
            # Anything the child left in its group (a helper process) goes too.
            _signal_group(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(5.0)
        for pid in list(self.extra_pids.values()):
            _stop_pid(pid, grace=5.0)
        with self._lock:
            self.children.clear()
            self.extra_pids.clear()
            self._save()

    def _stop(self, child: ChildProcess, grace: float) -> None:
        _signal_group(child.pid, signal.SIGTERM)
        try:
            child.process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.process.wait(5.0)

    # -- the pid file --------------------------------------------------------------------------------

    def _save(self) -> None:
        entries = [{"name": c.name, "pid": c.pid, "start": _start_time(c.pid)} for c in self.children]
        entries += [{"name": n, "pid": p, "start": _start_time(p)} for n, p in self.extra_pids.items()]
        document = {
            "supervisor": os.getpid(),
            "supervisor_start": _start_time(os.getpid()),
            "children": entries,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.pid_file.with_suffix(".partial")
        partial.write_text(json.dumps(document, indent=1) + "\n")
        os.replace(partial, self.pid_file)

    def clean_up_previous(self) -> list[str]:
        """Stop what an earlier demo in this folder left running; refuse while that demo still runs."""
        try:
            document = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return []
        owner = int(document.get("supervisor", 0))
        if owner and owner != os.getpid() and _same_process(owner, document.get("supervisor_start")):
            raise RuntimeError(
                f"another demo (pid {owner}) is running in {self.root}; stop it (Ctrl-C in its terminal, "
                f"or `kill {owner}`) or give this one another folder"
            )
        stopped = []
        for entry in document.get("children", []):
            pid = int(entry["pid"])
            if _same_process(pid, entry.get("start")):
                _signal_group(pid, signal.SIGTERM)
                _stop_pid(pid, grace=5.0)
                stopped.append(f"{entry['name']} (pid {pid})")
        self.pid_file.unlink(missing_ok=True)
        return stopped


def _same_process(pid: int, start: str | None) -> bool:
    return pid_alive(pid) and start is not None and _start_time(pid) == start


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _stop_pid(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    # Reap it if it is our own child; an adopted orphan is reaped by init.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
