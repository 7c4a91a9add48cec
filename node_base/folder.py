"""A node's data folder: one per role and account by default, and one daemon at a time in it.

    ~/.crowdcompute/provider/<address>/     the default of `provider run` (address in lower case)
    ~/.crowdcompute/validator/<address>/    the default of `validator run`
    <data_dir>/node.lock                    held (flock, exclusive) by the daemon for its whole run

Two nodes in one folder would share a state file and remove each other's work folders, so a daemon takes
the lock before it touches anything there; a second one refuses to start, naming the first one's pid (which
the holder writes into the lock file). The kernel drops the lock when the holder exits, however it exits,
so a stale lock file never blocks a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from chain import Role, enum_label
from node_base.errors import DataDirInUse

__all__ = [
    "LOCK_FILENAME",
    "NODES_ROOT",
    "DataDirLock",
    "address_tag",
    "default_data_dir",
    "hold_data_dir",
    "node_data_dir",
    "node_label",
    "role_root",
]

log = logging.getLogger(__name__)

NODES_ROOT = Path("~/.crowdcompute")
LOCK_FILENAME = "node.lock"


def address_tag(address: str) -> str:
    """The form of an account address that names this node's folders and containers: `0x` + 40 lower-case
    hex digits (42 characters; Docker names allow [a-zA-Z0-9_.-])."""
    tag = address.lower()
    if len(tag) != 42 or not tag.startswith("0x") or any(c not in "0123456789abcdef" for c in tag[2:]):
        raise ValueError(f"{address!r} is not an account address (0x and 40 hex digits)")
    return tag


def role_root(role: Role) -> Path:
    """`~/.crowdcompute/<role>`: the folder that holds one data folder per account of that role."""
    return NODES_ROOT / enum_label(role).lower()


def default_data_dir(role: Role, address: str) -> Path:
    """`~/.crowdcompute/<role>/<address>/` (expanded)."""
    return (role_root(role) / address_tag(address)).expanduser()


def node_data_dir(given: Path | None, role: Role, address: str) -> Path:
    """The folder a node of `role` acting as `address` uses: `given` as it is, else the per-account default.

    A node folder from before per-account defaults (its state file right in `~/.crowdcompute/<role>/`)
    is left alone and named in a warning, so its jobs are not forgotten silently."""
    if given is not None:
        return Path(given).expanduser()
    folder = default_data_dir(role, address)
    legacy = role_root(role).expanduser()
    if (legacy / "state.db").is_file() and not folder.exists():
        log.warning(
            "%s holds the state of a %s node from before data folders were per account; this node "
            "uses %s. If that state is this account's, start with --data-dir %s to resume it",
            legacy,
            enum_label(role).lower(),
            folder,
            legacy,
        )
    return folder


def node_label(role: Role, address: str, data_dir: Path) -> str:
    """The label of the containers a node runs: its role, its address and a digest of its data folder.

    The folder, not the address alone, is what a node is: two stacks on one Docker engine (two test runs, a
    devnet beside a demo) use the same dev accounts, and a node must never re-attach to, cancel or remove
    the other's containers. A node restarted on its own folder reads the same label and finds its own."""
    resolved = str(Path(data_dir).expanduser().resolve())
    folder = hashlib.sha256(resolved.encode()).hexdigest()[:8]
    prefix = "" if role == Role.PROVIDER else f"{enum_label(role).lower()}-"
    return f"{prefix}{address_tag(address)}-{folder}"


def hold_data_dir(given: Path | None, role: Role, address: str) -> DataDirLock:
    """The folder of a daemon of `role` acting as `address` (`node_data_dir`), held for its run: close
    the lock returned when the daemon stops (or let the process end). Raises `DataDirInUse`."""
    return DataDirLock(node_data_dir(given, role, address)).acquire()


class DataDirLock:
    """An exclusive hold on a node's data folder for as long as the daemon runs (`acquire` ... `close`)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.path = self.data_dir / LOCK_FILENAME
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"DataDirLock({str(self.data_dir)!r})"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Self:
        """Take the folder (creating it), or raise `DataDirInUse` naming the process that holds it."""
        if self._fd is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder is not None else "another process"
            raise DataDirInUse(
                f"{self.data_dir} is in use by {who} (another node daemon holds {self.path}): two nodes "
                "in one folder would undo each other's work. Stop that one, or give this one its own "
                "--data-dir",
                pid=holder,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        log.debug("holding %s", self.path)
        return self

    def close(self) -> None:
        """Let the folder go (the lock file stays; its lock is what counts)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
