"""One batch of indexing inside one write transaction: the timeline row of each event, cached account
and total amounts written back once, and the row helpers the event handlers share."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from api.db import Connection, Row
from chain import DecodedLog

log = logging.getLogger(__name__)

_JS_SAFE = 2**53


def _json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -_JS_SAFE < value < _JS_SAFE else str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") and len(value) == 42 else value
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)


class Amounts:
    """Per-batch cache of the TEXT amount columns of `accounts` and `totals`, written back once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.accounts: dict[str, dict[str, Any]] = {}
        self.totals: dict[str, int] = {}

    def account(self, address: str, block: int) -> dict[str, Any]:
        row = self.accounts.get(address)
        if row is None:
            found = self.conn.execute("SELECT * FROM accounts WHERE address = ?", (address,)).fetchone()
            if found is None:
                row = {
                    "address": address,
                    "stake": 0,
                    "locked": 0,
                    "unbonding": 0,
                    "unbonding_release_at": None,
                    "earnings": 0,
                    "rewards": 0,
                    "credited": 0,
                    "slashed": 0,
                    "withdrawn": 0,
                }
            else:
                row = dict(found)
                for key in _AMOUNT_COLUMNS:
                    row[key] = int(row[key])
            self.accounts[address] = row
        row["updated_block"] = block
        return row

    def add_total(self, key: str, amount: int) -> None:
        if key not in self.totals:
            found = self.conn.execute("SELECT value FROM totals WHERE key = ?", (key,)).fetchone()
            self.totals[key] = int(found[0]) if found else 0
        self.totals[key] += amount

    def flush(self) -> None:
        self.conn.executemany(
            """INSERT OR REPLACE INTO accounts (address, stake, locked, unbonding, unbonding_release_at,
               earnings, rewards, credited, slashed, withdrawn, updated_block)
               VALUES (:address, :stake, :locked, :unbonding, :unbonding_release_at, :earnings, :rewards,
               :credited, :slashed, :withdrawn, :updated_block)""",
            [{**row, **{k: str(row[k]) for k in _AMOUNT_COLUMNS}} for row in self.accounts.values()],
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO totals (key, value) VALUES (?, ?)",
            [(key, str(value)) for key, value in self.totals.items()],
        )


_AMOUNT_COLUMNS = ("stake", "locked", "unbonding", "earnings", "rewards", "credited", "slashed", "withdrawn")


class Batch:
    def __init__(self, conn: Connection, timestamps: Mapping[int, int]) -> None:
        self.conn = conn
        self.timestamps = timestamps
        self.amounts = Amounts(conn)
        self.applied = 0

    def record(self, event: DecodedLog) -> bool:
        """Add the event to the timeline; False when it is already there (then nothing else may change)."""
        args = event.args
        job_id = int(args["jobId"]) if "jobId" in args else None
        account = next((str(args[k]).lower() for k in _ACCOUNT_KEYS if k in args), None)
        cursor = self.conn.execute(
            """INSERT OR IGNORE INTO events (block_number, log_index, tx_hash, event, job_id, account, args,
               timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                event.block_number,
                event.log_index,
                event.tx_hash,
                event.name,
                job_id,
                account,
                json.dumps(_json_value(args), separators=(",", ":")),
                self.timestamps.get(event.block_number),
            ),
        )
        if cursor.rowcount == 0:
            log.warning("event %s at %s already indexed; skipped", event.name, event.position)
            return False
        self.applied += 1
        return True

    # -- helpers

    def ts(self, event: DecodedLog) -> int | None:
        return self.timestamps.get(event.block_number)

    def update_job(self, event: DecodedLog, **columns: Any) -> None:
        columns["updated_block"] = event.block_number
        columns["updated_at"] = self.ts(event)
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        self.conn.execute(
            f"UPDATE jobs SET {assignments} WHERE job_id = :job_id", {**columns, "job_id": _job(event)}
        )

    def job_row(self, event: DecodedLog) -> Row | None:
        row: Row | None = self.conn.execute(
            "SELECT provider, collateral FROM jobs WHERE job_id = ?", (_job(event),)
        ).fetchone()
        if row is None:
            log.warning("%s for job %s, which was never posted here", event.name, _job(event))
        return row

    def release_collateral(self, event: DecodedLog) -> None:
        row = self.job_row(event)
        if row is not None and row["provider"]:
            account = self.amounts.account(row["provider"], event.block_number)
            account["locked"] = max(0, account["locked"] - int(row["collateral"]))

    def payout(self, event: DecodedLog, account: str, kind: str, amount: int, reward: int = 0) -> None:
        self.conn.execute(
            "INSERT INTO payouts (block_number, log_index, job_id, account, kind, amount, reward, tx_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.block_number,
                event.log_index,
                event.args.get("jobId"),
                account,
                kind,
                str(amount),
                str(reward),
                event.tx_hash,
            ),
        )


_ACCOUNT_KEYS = ("provider", "validator", "account", "requester", "appellant")


def _job(event: DecodedLog) -> int:
    return int(event.args["jobId"])
