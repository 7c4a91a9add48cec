"""The gateway under attack in bench/gateway_attack.py: a synthetic index (one claimed job with a long log)
and a real `crowdcompute gateway serve` process on 127.0.0.1, with its memory and write counters."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.db import Database
from api.indexer.checkpoint import save_checkpoint
from api.indexer.projection import project_batch
from chain import DecodedLog, JobSpec, VerificationMode, tokens
from chain.anvil import free_port
from tests.api.sse_clients import rss_mib

JOB_ID = 1
PROVIDER = "0x" + "5a" * 20
LOG_LINES = 10_000
LOG_LINE_BYTES = 7_000


def _event(name: str, args: dict[str, Any], block: int, index: int) -> DecodedLog:
    return DecodedLog(name, args, "0x" + "aa" * 20, block, index, f"0x{block:064x}", f"0x{block:064x}")


def build_index(data_dir: Path) -> None:
    """One job, claimed by `PROVIDER`, with a log of `LOG_LINES` lines (written as the relay stores them)."""
    spec = JobSpec(
        budget=tokens(10),
        bundle_digest=b"\x11" * 32,
        bundle_codec=0x55,
        collateral=tokens(5),
        run_timeout=3600,
        requester="0x" + "22" * 20,  # type: ignore[arg-type]
        mode=VerificationMode.SEGMENTS,
        committee_size=3,
        samples_per_validator=2,
        verify_blocks=20,
        validator_fee=tokens(1),
        reward=tokens(1),
    ).to_abi()
    events = [
        _event("JobPosted", {"jobId": JOB_ID, "requester": "0x" + "22" * 20, "spec": spec}, 100, 0),
        _event("JobClaimed", {"jobId": JOB_ID, "provider": PROVIDER, "deadline": 2_000_000_000}, 101, 0),
    ]
    db = Database(data_dir / "index.sqlite")
    filler = "x" * (LOG_LINE_BYTES - 16)
    with db.write() as conn:
        project_batch(conn, events, {e.block_number: 1_700_000_000 + e.block_number for e in events})
        save_checkpoint(conn, events[-1].block_number)
        conn.executemany(
            "INSERT INTO job_logs (job_id, seq, stream, text, ts, received_at) VALUES (?, ?, ?, ?, ?, ?)",
            ((JOB_ID, seq, "stdout", f"{seq:>15} {filler}", 1.7e9, 1.7e9) for seq in range(LOG_LINES)),
        )
    db.close()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def io(self) -> dict[str, int]:
        pairs = (line.split(":") for line in Path(f"/proc/{self.pid}/io").read_text().splitlines())
        return {k.strip(): int(v) for k, v in pairs}


@contextmanager
def gateway(data_dir: Path, **settings: str) -> Iterator[Server]:
    """`crowdcompute gateway serve --no-indexer` with `CROWDCOMPUTE_GATEWAY_<KEY>=value` settings."""
    port = free_port()
    env = {
        **os.environ,
        "CROWDCOMPUTE_GATEWAY_ENVIRONMENT": "test",
        "CROWDCOMPUTE_GATEWAY_API_KEYS": "[]",
        "CROWDCOMPUTE_GATEWAY_DATA_DIR": str(data_dir),
        "CROWDCOMPUTE_GATEWAY_RPC_URL": f"http://127.0.0.1:{free_port()}",
        "CROWDCOMPUTE_GATEWAY_STORE_FSYNC": "false",
        "CROWDCOMPUTE_GATEWAY_LOG_LEVEL": "WARNING",
        **{f"CROWDCOMPUTE_GATEWAY_{k.upper()}": v for k, v in settings.items()},
    }
    log_path = data_dir / "gateway.log"
    code = "import sys; from api.cli import gateway_app; sys.exit(gateway_app())"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port), "--no-indexer"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited during startup:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
