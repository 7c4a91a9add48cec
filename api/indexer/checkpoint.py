"""The indexer's progress and identity, kept in the `meta` table of the same database as the rows.

The last processed block is written in the same transaction as the rows of its batch: after a crash the
index and its checkpoint always agree. The chain id and market address are kept too; when they change (a
fresh devnet, a redeploy) the index of the old market is dropped rather than mixed with the new one.
"""

from __future__ import annotations

import logging

from api.db import Connection
from chain import CheckpointStore

log = logging.getLogger(__name__)

_LAST_BLOCK = "indexer.last_block"
_IDENTITY = "indexer.market"

INDEX_TABLES = (
    "events",
    "jobs",
    "accounts",
    "providers",
    "validators",
    "votes",
    "payouts",
    "slashes",
    "totals",
)
"""Everything derived from chain events; the log relay, nonces and uploads are not."""

_MARKET_TABLES = (*INDEX_TABLES, "job_logs", "skip_reports", "energy_reports", "seat_votes")
"""What belongs to one market: dropped when the index starts following another (job ids start over)."""


def load_checkpoint(conn: Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_LAST_BLOCK,)).fetchone()
    return int(row[0]) if row else None


def save_checkpoint(conn: Connection, block: int) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_LAST_BLOCK, str(block)))


def market_identity(conn: Connection) -> tuple[int, str] | None:
    """(chain id, market address) of the market this index follows, None before it followed one."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_IDENTITY,)).fetchone()
    if row is None:
        return None
    chain_id, market = str(row[0]).split(":", 1)
    return int(chain_id), market


def ensure_identity(conn: Connection, chain_id: int, market: str) -> bool:
    """Record which market this index follows; drop the index if it followed another. True when reset."""
    identity = f"{chain_id}:{market.lower()}"
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_IDENTITY,)).fetchone()
    if row is not None and row[0] == identity:
        return False
    reset = row is not None
    if reset:
        log.warning("the index followed %s; now following %s: dropping the old index", row[0], identity)
        for table in _MARKET_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM meta WHERE key = ?", (_LAST_BLOCK,))
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_IDENTITY, identity))
    return reset


class TransactionalCheckpoints(CheckpointStore):
    """`chain.events.CheckpointStore` over the index database, for the reader's start position.

    Saving is a no-op: the indexer writes the checkpoint itself, inside the transaction of each batch.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def load(self, key: str) -> int | None:
        return load_checkpoint(self._conn)

    def save(self, key: str, block: int) -> None:
        return None
