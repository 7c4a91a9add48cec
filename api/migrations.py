"""The gateway database's schema, as ordered migrations; `PRAGMA user_version` counts those applied.

Token amounts are decimal TEXT: uint96/uint128 values do not fit SQLite's 64-bit integers.
Addresses are lower-case hex.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the index of chain events, the log relay, used nonces, uploaded bundles
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE jobs (
        job_id INTEGER PRIMARY KEY,
        state TEXT NOT NULL,
        requester TEXT NOT NULL,
        provider TEXT,
        bundle_cid TEXT,
        budget TEXT NOT NULL,
        reward TEXT NOT NULL,
        collateral TEXT NOT NULL,
        validator_fee TEXT NOT NULL,
        gpu_count INTEGER NOT NULL,
        gpu_memory_mib INTEGER NOT NULL,
        gpu_class INTEGER NOT NULL,
        cpu_cores INTEGER NOT NULL,
        memory_mib INTEGER NOT NULL,
        run_timeout_s INTEGER NOT NULL,
        mode TEXT NOT NULL,
        committee_size INTEGER NOT NULL,
        samples_per_validator INTEGER NOT NULL,
        verify_blocks INTEGER NOT NULL,
        reopen_on_failure INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        deadline INTEGER,
        submit_block INTEGER,
        validator_count INTEGER,
        result_cid TEXT,
        checkpoint_root TEXT,
        checkpoint_count INTEGER,
        outcome TEXT,
        accepts INTEGER,
        rejects INTEGER,
        posted_block INTEGER NOT NULL,
        posted_at INTEGER,
        updated_block INTEGER NOT NULL,
        updated_at INTEGER
    );
    CREATE INDEX jobs_by_state ON jobs (state, job_id);
    CREATE INDEX jobs_by_requester ON jobs (requester, job_id);
    CREATE INDEX jobs_by_provider ON jobs (provider, job_id);

    CREATE TABLE events (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        tx_hash TEXT NOT NULL,
        event TEXT NOT NULL,
        job_id INTEGER,
        account TEXT,
        args TEXT NOT NULL,
        timestamp INTEGER,
        PRIMARY KEY (block_number, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX events_by_job ON events (job_id, block_number, log_index) WHERE job_id IS NOT NULL;
    CREATE INDEX events_by_account ON events (account, block_number, log_index) WHERE account IS NOT NULL;

    CREATE TABLE accounts (
        address TEXT PRIMARY KEY,
        stake TEXT NOT NULL DEFAULT '0',
        locked TEXT NOT NULL DEFAULT '0',
        unbonding TEXT NOT NULL DEFAULT '0',
        unbonding_release_at INTEGER,
        earnings TEXT NOT NULL DEFAULT '0',
        rewards TEXT NOT NULL DEFAULT '0',
        credited TEXT NOT NULL DEFAULT '0',
        slashed TEXT NOT NULL DEFAULT '0',
        withdrawn TEXT NOT NULL DEFAULT '0',
        updated_block INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE providers (
        address TEXT PRIMARY KEY,
        gpu_count INTEGER NOT NULL,
        gpu_memory_mib INTEGER NOT NULL,
        gpu_class INTEGER NOT NULL,
        cpu_cores INTEGER NOT NULL,
        memory_mib INTEGER NOT NULL,
        price_per_hour TEXT NOT NULL,
        metadata_digest TEXT NOT NULL,
        completed_jobs INTEGER NOT NULL DEFAULT 0,
        failed_jobs INTEGER NOT NULL DEFAULT 0,
        registered_block INTEGER NOT NULL,
        updated_block INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE validators (
        address TEXT PRIMARY KEY,
        list_index INTEGER NOT NULL,
        votes INTEGER NOT NULL DEFAULT 0,
        approvals INTEGER NOT NULL DEFAULT 0,
        registered_block INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE votes (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        validator TEXT NOT NULL,
        slot INTEGER NOT NULL,
        approve INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        committed_digest TEXT NOT NULL,
        recomputed_digest TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (block_number, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX votes_by_job ON votes (job_id);
    CREATE INDEX votes_by_validator ON votes (validator);

    CREATE TABLE payouts (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        job_id INTEGER,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount TEXT NOT NULL,
        reward TEXT NOT NULL DEFAULT '0',
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (block_number, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX payouts_by_account ON payouts (account);

    CREATE TABLE slashes (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        amount TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (block_number, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX slashes_by_account ON slashes (account);

    CREATE TABLE totals (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE job_logs (
        job_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        stream TEXT NOT NULL,
        text TEXT NOT NULL,
        ts REAL,
        received_at REAL NOT NULL,
        PRIMARY KEY (job_id, seq)
    ) WITHOUT ROWID;

    CREATE TABLE used_nonces (
        address TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (address, nonce)
    ) WITHOUT ROWID;
    CREATE INDEX used_nonces_by_expiry ON used_nonces (expires_at);

    CREATE TABLE bundles (
        cid TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        manifest TEXT NOT NULL,
        uploaded_by TEXT,
        uploaded_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 2: provider reports: why providers skip an open job, and the energy each job used (their own claims)
    """
    CREATE TABLE skip_reports (
        job_id INTEGER NOT NULL,
        provider TEXT NOT NULL,
        kind TEXT NOT NULL,
        reason TEXT NOT NULL,
        reported_at REAL NOT NULL,
        PRIMARY KEY (job_id, provider)
    ) WITHOUT ROWID;

    CREATE TABLE energy_reports (
        job_id INTEGER NOT NULL,
        provider TEXT NOT NULL,
        kwh REAL NOT NULL,
        gco2e REAL NOT NULL,
        method TEXT NOT NULL,
        measured INTEGER NOT NULL,
        grid_gco2e_per_kwh REAL NOT NULL,
        seconds REAL,
        reported_at REAL NOT NULL,
        PRIMARY KEY (job_id, provider)
    ) WITHOUT ROWID;
    CREATE INDEX energy_reports_by_provider ON energy_reports (provider, job_id);
    """,
    # 3: the protocol fee the market records at post (JobSpec.protocolFee); jobs indexed before it paid none
    """
    ALTER TABLE jobs ADD COLUMN protocol_fee TEXT NOT NULL DEFAULT '0';
    """,
    # 4: committee v2. A job keeps the roster root its committee is drawn from (instead of a validator
    # count); validators carry their roster leaf and weight (bonded stake, 0 once they left); seat holders'
    # signed votes wait here, private, until the job's window closes (`api.services.votes`).
    """
    ALTER TABLE jobs DROP COLUMN validator_count;
    ALTER TABLE jobs ADD COLUMN roster_root TEXT;

    ALTER TABLE validators RENAME COLUMN list_index TO leaf;
    ALTER TABLE validators ADD COLUMN weight TEXT NOT NULL DEFAULT '0';

    CREATE TABLE seat_votes (
        job_id INTEGER NOT NULL,
        seat INTEGER NOT NULL,
        validator TEXT NOT NULL,
        result_hash TEXT NOT NULL,
        vote TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (job_id, seat)
    ) WITHOUT ROWID;
    """,
    # 5: appeals. A job carries its current round (its submit_block and roster_root are that round's, as on
    # chain); each `JobAppealed` is kept for the job's page; relayed votes are keyed by (job, round, seat), so
    # an appealed round's votes stay readable while the next round's are collected.
    """
    ALTER TABLE jobs ADD COLUMN round INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE appeals (
        block_number INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        job_id INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        round INTEGER NOT NULL,
        appellant TEXT NOT NULL,
        bond TEXT NOT NULL,
        roster_root TEXT NOT NULL,
        tx_hash TEXT NOT NULL,
        PRIMARY KEY (block_number, log_index)
    ) WITHOUT ROWID;
    CREATE INDEX appeals_by_job ON appeals (job_id, block_number, log_index);

    CREATE TABLE seat_votes_by_round (
        job_id INTEGER NOT NULL,
        round INTEGER NOT NULL,
        seat INTEGER NOT NULL,
        validator TEXT NOT NULL,
        result_hash TEXT NOT NULL,
        vote TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (job_id, round, seat)
    ) WITHOUT ROWID;
    INSERT INTO seat_votes_by_round (job_id, round, seat, validator, result_hash, vote, received_at)
        SELECT job_id, 0, seat, validator, result_hash, vote, received_at FROM seat_votes;
    DROP TABLE seat_votes;
    ALTER TABLE seat_votes_by_round RENAME TO seat_votes;
    """,
    # 6: confidential jobs (docs/confidential.md): the requester's result key, zero for a clear job
    """
    ALTER TABLE jobs ADD COLUMN result_key TEXT NOT NULL
        DEFAULT '0x0000000000000000000000000000000000000000000000000000000000000000';
    """,
]
