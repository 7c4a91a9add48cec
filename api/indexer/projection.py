"""Turn decoded market events into rows: jobs (with their appeals), the event timeline, accounts, providers,
validators (with their roster leaf and weight), votes (revealed together by `finalize`), payouts and slashes.

`project_batch` runs inside the caller's write transaction together with the checkpoint, so a batch is
either wholly indexed or not at all. Every event is keyed by (block, logIndex); an event already in
`events` is skipped, so applying a batch twice cannot count anything twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from api.db import Connection
from api.indexer.batch import Batch
from api.indexer.spec_columns import cid_of, spec_columns
from api.models.jobs import CLOSED_BY_EVENT
from chain import DecodedLog, Outcome, ReleaseReason, enum_label

TERMINAL_STATES = frozenset({*(enum_label(outcome) for outcome in Outcome), *CLOSED_BY_EVENT})
"""States after which nothing more happens to a job unless it is reopened (which sets it back to Open)."""


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _job(event: DecodedLog) -> int:
    return int(event.args["jobId"])


def _addr(value: Any) -> str:
    return str(value).lower()


# -- job lifecycle


def _job_posted(b: Batch, e: DecodedLog) -> None:
    spec = e.args["spec"]
    budget = int(spec["budget"])
    columns = {
        "job_id": _job(e),
        "state": "Open",
        **spec_columns(spec),
        "requester": _addr(e.args["requester"]),
        "attempts": 0,
        "posted_block": e.block_number,
        "posted_at": b.ts(e),
        "updated_block": e.block_number,
        "updated_at": b.ts(e),
    }
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    b.conn.execute(f"INSERT OR REPLACE INTO jobs ({names}) VALUES ({marks})", tuple(columns.values()))
    b.amounts.add_total("jobs_posted", 1)
    b.amounts.add_total("budget_posted", budget)


def _job_cancelled(b: Batch, e: DecodedLog) -> None:
    b.update_job(e, state="Cancelled")


def _job_claimed(b: Batch, e: DecodedLog) -> None:
    provider = _addr(e.args["provider"])
    b.update_job(e, state="Claimed", provider=provider, deadline=int(e.args["deadline"]))
    row = b.job_row(e)
    if row is not None:
        b.amounts.account(provider, e.block_number)["locked"] += int(row["collateral"])


def _result_submitted(b: Batch, e: DecodedLog) -> None:
    a = e.args
    b.update_job(
        e,
        state="Submitted",
        submit_block=e.block_number,
        result_cid=cid_of(a["resultDigest"], a["resultCodec"]),
        checkpoint_root=_hex(a["checkpointRoot"]),
        checkpoint_count=int(a["checkpointCount"]),
        roster_root=_hex(a["rosterRoot"]),
    )


def _vote_cast(b: Batch, e: DecodedLog) -> None:
    a = e.args
    evidence = a["evidence"]
    validator = _addr(a["validator"])
    approve = bool(a["approve"])
    b.conn.execute(
        """INSERT INTO votes (block_number, log_index, job_id, validator, slot, approve, segment,
           committed_digest, recomputed_digest, tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            e.block_number,
            e.log_index,
            _job(e),
            validator,
            int(a["slot"]),
            int(approve),
            int(evidence["segment"]),
            _hex(evidence["committedDigest"]),
            _hex(evidence["recomputedDigest"]),
            e.tx_hash,
        ),
    )
    b.conn.execute(
        "UPDATE validators SET votes = votes + 1, approvals = approvals + ? WHERE address = ?",
        (int(approve), validator),
    )
    b.amounts.add_total("votes", 1)


def _job_appealed(b: Batch, e: DecodedLog) -> None:
    # Round r + 1 starts: as on chain, its committee is drawn from the appeal's block and the roster then.
    a = e.args
    row = b.conn.execute("SELECT attempts FROM jobs WHERE job_id = ?", (_job(e),)).fetchone()
    b.conn.execute(
        """INSERT INTO appeals (block_number, log_index, job_id, attempt, round, appellant, bond, roster_root,
           tx_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            e.block_number,
            e.log_index,
            _job(e),
            int(row["attempts"]) if row is not None else 0,
            int(a["round"]),
            _addr(a["appellant"]),
            str(int(a["bond"])),
            _hex(a["rosterRoot"]),
            e.tx_hash,
        ),
    )
    b.update_job(e, round=int(a["round"]), submit_block=e.block_number, roster_root=_hex(a["rosterRoot"]))


def _job_finalized(b: Batch, e: DecodedLog) -> None:
    outcome = enum_label(Outcome(int(e.args["outcome"])))
    b.update_job(
        e, state=outcome, outcome=outcome, accepts=int(e.args["accepts"]), rejects=int(e.args["rejects"])
    )
    row = b.job_row(e)
    if row is not None and row["provider"]:
        column = {"Accepted": "completed_jobs", "Rejected": "failed_jobs"}.get(outcome)
        if column:
            b.conn.execute(
                f"UPDATE providers SET {column} = {column} + 1 WHERE address = ?", (row["provider"],)
            )
    b.release_collateral(e)


def _provider_paid(b: Batch, e: DecodedLog) -> None:
    provider = _addr(e.args["provider"])
    payment, reward = int(e.args["payment"]), int(e.args["reward"])
    account = b.amounts.account(provider, e.block_number)
    account["earnings"] += payment
    account["rewards"] += reward
    b.payout(e, provider, "payment", payment, reward)
    b.amounts.add_total("paid_to_providers", payment)
    b.amounts.add_total("rewards_to_providers", reward)


def _job_expired(b: Batch, e: DecodedLog) -> None:
    b.update_job(e, state="Expired")
    b.conn.execute(
        "UPDATE providers SET failed_jobs = failed_jobs + 1 WHERE address = ?", (_addr(e.args["provider"]),)
    )
    b.release_collateral(e)


def _claim_released(b: Batch, e: DecodedLog) -> None:
    # A confidential job's claimant gave it back: the collateral is unlocked (free) or slashed (StakeSlashed
    # takes the stake); either way it is no longer locked.
    b.release_collateral(e)
    if ReleaseReason(int(e.args["reason"])) == ReleaseReason.KEY_NOT_RELEASED:
        b.update_job(e, state="Open", provider=None, deadline=None)
    else:
        # Closed like a failed job; a JobReopened in the same transaction reopens it.
        b.update_job(e, state="Released")


def _job_reopened(b: Batch, e: DecodedLog) -> None:
    # Votes handed to the relay for the closed attempt are void: the next one draws a new committee.
    b.conn.execute("DELETE FROM seat_votes WHERE job_id = ?", (_job(e),))
    b.update_job(
        e,
        state="Open",
        attempts=int(e.args["attempts"]),
        round=0,
        provider=None,
        deadline=None,
        submit_block=None,
        roster_root=None,
        result_cid=None,
        checkpoint_root=None,
        checkpoint_count=None,
        outcome=None,
        accepts=None,
        rejects=None,
    )


# -- accounts


def _provider_registered(b: Batch, e: DecodedLog) -> None:
    caps = e.args["caps"]
    b.conn.execute(
        """INSERT INTO providers (address, gpu_count, gpu_memory_mib, gpu_class, cpu_cores, memory_mib,
           price_per_hour, metadata_digest, registered_block, updated_block)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET gpu_count = excluded.gpu_count,
           gpu_memory_mib = excluded.gpu_memory_mib, gpu_class = excluded.gpu_class,
           cpu_cores = excluded.cpu_cores, memory_mib = excluded.memory_mib,
           price_per_hour = excluded.price_per_hour, metadata_digest = excluded.metadata_digest,
           updated_block = excluded.updated_block""",
        (
            _addr(e.args["provider"]),
            int(caps["gpuCount"]),
            int(caps["gpuMemoryMiB"]),
            int(caps["gpuClass"]),
            int(caps["cpuCores"]),
            int(caps["memoryMiB"]),
            str(int(caps["pricePerHour"])),
            _hex(e.args["metadataDigest"]),
            e.block_number,
            e.block_number,
        ),
    )
    b.amounts.account(_addr(e.args["provider"]), e.block_number)


def _validator_registered(b: Batch, e: DecodedLog) -> None:
    validator = _addr(e.args["validator"])
    b.conn.execute(
        """INSERT INTO validators (address, leaf, registered_block) VALUES (?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET leaf = excluded.leaf""",
        (validator, int(e.args["index"]), e.block_number),
    )
    b.amounts.account(validator, e.block_number)


def _validator_weight_changed(b: Batch, e: DecodedLog) -> None:
    # The roster's leaf: weight is the bonded stake, 0 once the validator left (its leaf is then reused).
    b.conn.execute(
        """INSERT INTO validators (address, leaf, weight, registered_block) VALUES (?, ?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET leaf = excluded.leaf, weight = excluded.weight""",
        (_addr(e.args["validator"]), int(e.args["leaf"]), str(int(e.args["weight"])), e.block_number),
    )


def _staked(b: Batch, e: DecodedLog) -> None:
    b.amounts.account(_addr(e.args["account"]), e.block_number)["stake"] = int(e.args["totalStake"])


def _unbond_requested(b: Batch, e: DecodedLog) -> None:
    account = b.amounts.account(_addr(e.args["account"]), e.block_number)
    amount = int(e.args["amount"])
    account["stake"] = max(0, account["stake"] - amount)
    account["unbonding"] += amount
    account["unbonding_release_at"] = int(e.args["releaseAt"])


def _unbonded_withdrawn(b: Batch, e: DecodedLog) -> None:
    account = b.amounts.account(_addr(e.args["account"]), e.block_number)
    account["unbonding"] = max(0, account["unbonding"] - int(e.args["amount"]))
    if account["unbonding"] == 0:
        account["unbonding_release_at"] = None


def _withdrawn(b: Batch, e: DecodedLog) -> None:
    address = _addr(e.args["account"])
    amount, reward = int(e.args["amount"]), int(e.args["reward"])
    b.amounts.account(address, e.block_number)["withdrawn"] += amount + reward
    b.payout(e, address, "withdrawal", amount, reward)


def _stake_slashed(b: Batch, e: DecodedLog) -> None:
    address = _addr(e.args["account"])
    amount = int(e.args["amount"])
    account = b.amounts.account(address, e.block_number)
    # The market slashes stake first, then unbonding stake.
    from_stake = min(account["stake"], amount)
    account["stake"] -= from_stake
    account["unbonding"] = max(0, account["unbonding"] - (amount - from_stake))
    account["slashed"] += amount
    b.conn.execute(
        """INSERT INTO slashes (block_number, log_index, job_id, account, amount, tx_hash)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (e.block_number, e.log_index, _job(e), address, str(amount), e.tx_hash),
    )
    b.amounts.add_total("slashed", amount)


def _balance_credited(b: Batch, e: DecodedLog) -> None:
    address = _addr(e.args["account"])
    amount = int(e.args["amount"])
    b.amounts.account(address, e.block_number)["credited"] += amount
    b.payout(e, address, "credit", amount)


def _seat_unbacked(b: Batch, e: DecodedLog) -> None:
    """A revealed vote that did not count (its validator's free stake could not lock the seat's bond): kept on
    the job's timeline only; it is not a vote."""


_HANDLERS: dict[str, Callable[[Batch, DecodedLog], None]] = {
    "JobPosted": _job_posted,
    "JobCancelled": _job_cancelled,
    "JobClaimed": _job_claimed,
    "ResultSubmitted": _result_submitted,
    "VoteCast": _vote_cast,
    "SeatUnbacked": _seat_unbacked,
    "JobAppealed": _job_appealed,
    "JobFinalized": _job_finalized,
    "ProviderPaid": _provider_paid,
    "JobExpired": _job_expired,
    "JobReopened": _job_reopened,
    "ClaimReleased": _claim_released,
    "ProviderRegistered": _provider_registered,
    "ValidatorRegistered": _validator_registered,
    "ValidatorWeightChanged": _validator_weight_changed,
    "Staked": _staked,
    "UnbondRequested": _unbond_requested,
    "UnbondedWithdrawn": _unbonded_withdrawn,
    "Withdrawn": _withdrawn,
    "StakeSlashed": _stake_slashed,
    "BalanceCredited": _balance_credited,
}

INDEXED_EVENTS: tuple[str, ...] = tuple(_HANDLERS)


def project_batch(conn: Connection, events: Iterable[DecodedLog], timestamps: Mapping[int, int]) -> int:
    """Apply `events` (in chain order) inside the caller's transaction; returns how many were new."""
    batch = Batch(conn, timestamps)
    for event in events:
        handler = _HANDLERS.get(event.name)
        if batch.record(event) and handler is not None:
            handler(batch, event)
    batch.amounts.add_total("events", batch.applied)
    batch.amounts.flush()
    return batch.applied
