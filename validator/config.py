"""How a validator node behaves, and where it keeps its files.

<data_dir>/state.db        one record per submission it sits on: seats, verdict, evidence, CPU, signed votes
<data_dir>/events.json     the event reader's checkpoint (last block fully processed)
<data_dir>/bundles/<cid>/  job bundles fetched from the store, extracted
<data_dir>/work/<job>-<attempt>-<address>/  the provider's result, the staged replay input, the replay output

The default data_dir of `validator run` is per account: ~/.crowdcompute/validator/<address>/ (`node_base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node_base import NodeConfigBase

__all__ = ["DEFAULT_DATA_DIR", "ValidatorConfig"]

DEFAULT_DATA_DIR = Path("~/.crowdcompute/validator")


@dataclass(frozen=True)
class ValidatorConfig(NodeConfigBase):
    """The daemon's knobs (`data_dir`, `poll_interval_s`, `confirmations` from `NodeConfigBase`)."""

    data_dir: Path = DEFAULT_DATA_DIR
    workers: int = 1
    """Submissions verified at once (each re-execution takes the job's CPU limit)."""
    gateway_url: str | None = None
    """The gateway that relays signed votes (`POST /jobs/{id}/votes`) and reveals them after the window.
    Required: a vote nobody relays is revealed only if this node finalizes, and then every other seat
    counts as silent and loses its bond."""
    finalize: bool = True
    """Finalize the jobs this node sat on once the window closed (or every seat voted), revealing every
    vote the gateway holds."""
    reveal_patience_blocks: int = 5
    """After the window, blocks to wait for the gateway to reveal the votes before finalizing with this
    node's own votes alone (a gateway that answers but lags behind the chain)."""
    withheld_after: float = 0.5
    """Share of the voting window after which a result still missing from the store is voted withheld."""
    retry_s: float = 2.0
    """Seconds between tries to fetch a result that is not there yet."""
    max_appeal_bond: int | None = None
    """Most tokens (base units) this node pays to appeal a round its vote lost (it believes the decision
    wrong); None: the bond one of its seats in that round loses if the decision stands (`chain.seat_bond`);
    0: it never appeals. The bond comes back when the final round bears the appeal out."""
    keep_work: bool = False
    """Keep each job's fetched result and replay output (for inspection) instead of removing them."""
    warm_replays: int = 2
    """Replay containers started ahead, when a job is claimed (its bundle fetched, torch imported, waiting for
    the sampled checkpoints), so that a seat drawn after the submission pays only the replay itself; 0: none.
    Each holds the job's memory until it is used or let go (`validator.warm`)."""
    warm_idle_s: float = 900.0
    """Seconds a warm replay waits for its go before it is removed (the provider took longer to submit)."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_appeal_bond is not None and self.max_appeal_bond < 0:
            raise ValueError("max_appeal_bond cannot be negative")
        if self.warm_replays < 0:
            raise ValueError("warm_replays cannot be negative")
        if not self.warm_idle_s > 0:
            raise ValueError("warm_idle_s must be positive")
        if self.reveal_patience_blocks < 0:
            raise ValueError("reveal_patience_blocks cannot be negative")
        if not 0 < self.withheld_after <= 1:
            raise ValueError("withheld_after must be in (0, 1]")
        super().__post_init__()

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"
