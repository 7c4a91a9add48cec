"""How a provider node behaves, and where it keeps its files (`provider run`'s default data_dir is one
folder per account, ~/.crowdcompute/provider/<address>/: `node_base.folder`).

<data_dir>/state.db          jobs claimed, execution ids, results awaiting submission (SQLite)
<data_dir>/events.json       the event reader's checkpoint (last block fully processed)
<data_dir>/bundles/<cid>/    job bundles fetched from the store, extracted (read-only inputs)
<data_dir>/runs/<exec id>/   one folder per execution: `output/` and the packed `result.tar`
<data_dir>/logs/<job id>/    log lines not yet delivered to the gateway (`log_spool`)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node_base import NodeConfigBase

DEFAULT_DATA_DIR = Path("~/.crowdcompute/provider")


@dataclass(frozen=True)
class NodeConfig(NodeConfigBase):
    """The daemon's knobs (`data_dir`, `poll_interval_s`, `confirmations` from `NodeConfigBase`); defaults
    suit one small provider on a dev chain."""

    data_dir: Path = DEFAULT_DATA_DIR
    capacity: int = 1
    """Most jobs held at once (claimed and not yet submitted)."""
    min_price_per_hour: int | None = None
    """Floor on a job's budget per hour of runTimeout, in token base units; None: the registered price."""
    submit_margin_s: int = 30
    """Seconds kept free before a job's deadline to pack, pin and submit the result."""
    skip_risky: bool = False
    """Skip jobs whose manifest makes a failure by the job's own fault likely, instead of only warning."""
    gateway_url: str | None = None
    """Where results are published and execution logs pushed (optional; a job waits for its result's upload
    at most `publish_max_wait_s`, never for its logs)."""
    publish_max_wait_s: float = 300.0
    """How long the upload of a result to the gateway is retried before the node submits anyway (within
    the deadline less `submit_margin_s`)."""
    gateway_chain_id: int | None = None
    """Chain id of the gateway's EIP-712 domain; None: the chain's own id."""
    bundle_retry_s: float = 30.0
    """After a bundle could not be fetched, wait this long before trying that CID again."""
    account_refresh_s: float = 10.0
    """How long the registered capabilities and the stake read from chain are trusted."""
    finalize_after_blocks: int | None = 3
    """A submitted job nobody finalized this many blocks after its voting window is finalized by this node
    with the votes the gateway reveals (the validators usually finalize first); None: never."""
    max_appeal_bond: int | None = None
    """Most tokens (base units) bonded to appeal a round that rejected this node's result (it ran the job, so
    it holds the result honest); None: the job's budget; 0: never appeal. The bond comes back when the final
    round accepts the result."""
    tie_break: bool = True
    """Order equally good jobs by a per-node hash, so identical nodes do not all race for the same job."""

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if self.max_appeal_bond is not None and self.max_appeal_bond < 0:
            raise ValueError("max_appeal_bond cannot be negative")
        super().__post_init__()

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"
