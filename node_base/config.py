"""What every node's configuration holds: its folder, how it polls the chain, and where its files go.

<data_dir>/state.db          the role's memory across restarts (SQLite)
<data_dir>/events.json       the event reader's checkpoint (last block fully processed)
<data_dir>/bundles/<cid>/    job bundles fetched from the store, extracted
<data_dir>/encryption-keys/  the node's X25519 key pairs for confidential jobs (docs/confidential.md)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["NodeConfigBase"]


@dataclass(frozen=True)
class NodeConfigBase:
    """A role's configuration derives from this (its own fields follow these, each with a default)."""

    data_dir: Path
    poll_interval_s: float = 1.0
    """Seconds between idle rounds, and the first wait after the chain failed to answer."""
    confirmations: int = 0
    """Blocks an event waits before the node acts on it."""

    def __post_init__(self) -> None:
        if self.poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be > 0")
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "events.json"

    @property
    def encryption_keys_dir(self) -> Path:
        return self.data_dir / "encryption-keys"

    @property
    def bundles_dir(self) -> Path:
        return self.data_dir / "bundles"
