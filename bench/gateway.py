#!/usr/bin/env python3
"""Gateway figures; writes bench/results/gateway.json.

- `jobs_list_p99_ms`, `rps`: `GET /jobs?limit=50` against a real uvicorn (`crowdcompute gateway serve`)
  with 10,000 jobs indexed, on each index backend (`jobs_list_by_backend`: SQLite, and PostgreSQL in a
  throwaway cluster on a Unix socket, as the tests start it: `jobs_list_postgresql_p99_ms`), the load
  coming from a second process on 127.0.0.1 at a fixed arrival rate
  (200 requests/s by default, open loop: latency counts from each request's scheduled time, so a slow
  server cannot hide its queue). The jobs are written by the indexer's own projection code from
  synthetic market events, so the rows are exactly what the indexer writes. On PostgreSQL the bench
  runs `VACUUM ANALYZE` after that bulk load, as autovacuum would within a minute (without it, `COUNT(*)`
  reads every row's heap tuple instead of the primary key's index alone).
- `indexer_events_s`: catch-up of a fresh index from anvil: postJob transactions (one per block, as with
  automine) are sent to a new chain, then the indexer reads and projects all of them; events per second
  of the catch-up loop (connecting and compiling excluded).

Targets: p99 <= 50 ms at 200 requests/s on both backends; indexer >= 1,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from api.db import Database
from api.db_postgres import PostgresDatabase
from api.indexer.checkpoint import save_checkpoint
from api.indexer.projection import project_batch
from api.indexer.runner import Indexer, default_source_factory
from api.settings import Settings
from chain import (
    Capabilities,
    ContractCodec,
    DecodedLog,
    JobSpec,
    TxSender,
    VerificationMode,
    Wei,
    compile_contracts,
    deploy_market,
    dev_account,
    tokens,
)
from chain.anvil import AnvilProcess, free_port
from crowdcompute.machine import busy_cpu_s
from tests.api.postgres_cluster import PostgresCluster

RESULTS = Path(__file__).resolve().parent / "results" / "gateway.json"
TARGETS = {
    "jobs_list_p99_ms": 50.0,
    "jobs_list_postgresql_p99_ms": 50.0,
    "rps": 200.0,
    "indexer_events_s": 1000.0,
}
PROVIDERS = [f"0x{i:040x}" for i in range(1, 51)]
REQUESTERS = [f"0x{i:040x}" for i in range(1001, 1201)]


# ---------------------------------------------------------------- 10,000 indexed jobs


def _event(name: str, args: dict[str, Any], block: int, index: int) -> DecodedLog:
    return DecodedLog(name, args, "0x" + "aa" * 20, block, index, f"0x{block:064x}", f"0x{block:064x}")


def synthetic_events(jobs: int) -> list[DecodedLog]:
    """A market with `jobs` jobs in every state: posted, claimed, submitted, accepted or cancelled."""
    events: list[DecodedLog] = []
    block = 100
    caps = Capabilities(gpu_count=1, gpu_memory_mib=8192, cpu_cores=8, memory_mib=16384).to_abi()
    for provider in PROVIDERS:
        block += 1
        events.append(
            _event(
                "ProviderRegistered",
                {"provider": provider, "caps": caps, "metadataDigest": b"\x01" * 32},
                block,
                0,
            )
        )
        events.append(
            _event(
                "Staked",
                {"account": provider, "amount": tokens(10**6), "totalStake": tokens(10**6)},
                block,
                1,
            )
        )
    for job_id in range(1, jobs + 1):
        block += 1
        requester = REQUESTERS[job_id % len(REQUESTERS)]
        provider = PROVIDERS[job_id % len(PROVIDERS)]
        spec = JobSpec(
            budget=tokens(10),
            bundle_digest=hashlib.sha256(job_id.to_bytes(8, "big")).digest(),  # type: ignore[arg-type]
            bundle_codec=0x55,
            collateral=tokens(5),
            run_timeout=3600,
            requester=requester,  # type: ignore[arg-type]
            mode=VerificationMode.SEGMENTS,
            committee_size=3,
            samples_per_validator=2,
            verify_blocks=20,
            validator_fee=tokens(1),
            reward=tokens(1),
        ).to_abi()
        events.append(_event("JobPosted", {"jobId": job_id, "requester": requester, "spec": spec}, block, 0))
        stage = job_id % 10
        if stage == 9:
            events.append(_event("JobCancelled", {"jobId": job_id, "refund": tokens(13)}, block, 1))
            continue
        if stage >= 3:
            events.append(
                _event(
                    "JobClaimed", {"jobId": job_id, "provider": provider, "deadline": 2_000_000_000}, block, 1
                )
            )
        if stage >= 5:
            events.append(
                _event(
                    "ResultSubmitted",
                    {
                        "jobId": job_id,
                        "provider": provider,
                        "resultDigest": b"\x33" * 32,
                        "resultCodec": 0x55,
                        "checkpointRoot": b"\x44" * 32,
                        "checkpointCount": 10,
                        "rosterRoot": b"\x55" * 32,
                    },
                    block,
                    2,
                )
            )
        if stage >= 7:
            events.append(
                _event("JobFinalized", {"jobId": job_id, "outcome": 0, "accepts": 2, "rejects": 0}, block, 3)
            )
            events.append(
                _event(
                    "ProviderPaid",
                    {"jobId": job_id, "provider": provider, "payment": tokens(10), "reward": tokens(1)},
                    block,
                    4,
                )
            )
    return events


def build_index(db: Database, jobs: int) -> None:
    events = synthetic_events(jobs)
    with db.write() as conn:
        project_batch(conn, events, {e.block_number: 1_700_000_000 + e.block_number for e in events})
        save_checkpoint(conn, events[-1].block_number)
    count = db.connection().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    db.close()
    assert count == jobs, count


# ---------------------------------------------------------------- the load generator (second process)


class _Connection:
    """One keep-alive HTTP/1.1 connection: the load generator's own client, far cheaper per request than
    a general-purpose one, so the figures measure the server rather than the client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def get(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


async def _load(
    url: str, rate: float, duration: float, expect_count: int, connections: int = 32
) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /jobs?limit=50 HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    )
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection(host, int(port))))
    for _ in range(20):  # warm-up: page cache, the server's thread pool and connections
        connection = await pool.get()
        await connection.get(request)
        pool.put_nowait(connection)

    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    latencies: list[float] = []
    errors = 0
    last_done = 0.0

    async def one(scheduled: float) -> None:
        nonlocal errors, last_done
        connection = await pool.get()
        try:
            status, body = await connection.get(request)
            page = json.loads(body)
            ok = status == 200 and page["count"] == expect_count and len(page["data"]) == 50
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError):
            ok = False
        pool.put_nowait(connection)
        done = loop.time()
        last_done = max(last_done, done)
        if ok:
            latencies.append(done - scheduled)
        else:
            errors += 1

    start = loop.time() + 0.1
    tasks = []
    for i in range(total):  # open loop: request i is due at start + i / rate, whatever came before
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "requests": total,
        "errors": errors,
        "rps": len(latencies) / (last_done - start),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
    }


def _wait_http(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the gateway exited during startup")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the gateway did not answer")


def bench_jobs_list(jobs: int, rate: float, duration: float, backend: str) -> dict[str, Any]:
    """On SQLite, or on PostgreSQL in a throwaway cluster of its own (a Unix socket; stopped at the end)."""
    cluster: PostgresCluster | None = None
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        data_dir = Path(tmp)
        database_env: dict[str, str] = {}
        started = time.perf_counter()
        if backend == "postgresql":
            cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="bench-gateway-pg-")))
            cluster.start()
            url = cluster.new_schema()
            database_env["CROWDCOMPUTE_GATEWAY_DATABASE_URL"] = url
            build_index(PostgresDatabase(url), jobs)
            with psycopg.connect(
                url, autocommit=True
            ) as conn:  # what autovacuum does within its first minute
                conn.execute("VACUUM ANALYZE")
        else:
            build_index(Database(data_dir / "index.sqlite"), jobs)
        print(f"{backend}: indexed {jobs} synthetic jobs in {time.perf_counter() - started:.1f} s")
        port = free_port()
        env = {
            **os.environ,
            "CROWDCOMPUTE_GATEWAY_ENVIRONMENT": "test",
            "CROWDCOMPUTE_GATEWAY_DATA_DIR": str(data_dir),
            "CROWDCOMPUTE_GATEWAY_RPC_URL": f"http://127.0.0.1:{free_port()}",
            # One load generator on one IP: the edge's per-client limits would measure themselves.
            "CROWDCOMPUTE_GATEWAY_EDGE_RATE_LIMIT_PER_MINUTE": "1e9",
            "CROWDCOMPUTE_GATEWAY_EDGE_RATE_LIMIT_BURST": "1000000",
            "CROWDCOMPUTE_GATEWAY_MAX_REQUESTS_PER_CLIENT": "100000",
            "CROWDCOMPUTE_GATEWAY_MAX_REQUESTS": "100000",
            **database_env,
        }
        code = "import sys; from api.cli import gateway_app; sys.exit(gateway_app())"
        server = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port), "--no-indexer"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_http(url, server)
            load = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "load",
                    "--url",
                    url,
                    "--rate",
                    str(rate),
                    "--duration",
                    str(duration),
                    "--expect-count",
                    str(jobs),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            server.terminate()
            server.wait(15)
            if cluster is not None:
                cluster.stop()
                shutil.rmtree(cluster.folder, ignore_errors=True)
    result: dict[str, Any] = json.loads(load.stdout)
    return result


# ---------------------------------------------------------------- indexer catch-up from anvil


def bench_indexer(posts: int) -> dict[str, Any]:
    artifacts = compile_contracts()
    with AnvilProcess() as node, tempfile.TemporaryDirectory(prefix="bench-indexer-") as tmp:
        rpc = node.rpc()
        sender = TxSender(rpc)
        deployer = dev_account(0)
        deployment = deploy_market(
            rpc, deployer, artifacts=artifacts, sender=sender, save_dir=Path(tmp) / "deployments"
        )
        market = ContractCodec(artifacts["CrowdMarket"].abi)
        token = ContractCodec(artifacts["CrowdToken"].abi)
        sender.transact(
            deployer, deployment.token, token.function("approve").encode(deployment.market, 2**255)
        )
        spec = JobSpec(
            budget=Wei(10**18),
            bundle_digest=b"\x22" * 32,
            bundle_codec=0x55,
            mode=VerificationMode.SEGMENTS,
            collateral=Wei(10**18),  # type: ignore[arg-type]
            run_timeout=3600,
            committee_size=1,
            samples_per_validator=1,
            verify_blocks=10,
            validator_fee=Wei(10**17),
        ).to_abi()
        data = market.function("postJob").encode(spec)
        started = time.perf_counter()
        pending = [sender.send(deployer, deployment.market, data, gas=400_000) for _ in range(posts)]
        sender.wait(pending[-1])
        print(f"sent {posts} postJob transactions in {time.perf_counter() - started:.1f} s")

        settings = Settings(
            _env_file=None,
            environment="test",
            data_dir=Path(tmp) / "gateway",
            rpc_url=node.url,  # type: ignore[call-arg]
            deployments_dir=Path(tmp) / "deployments",
        )
        db = Database(settings.db_path)
        indexer = Indexer(db, default_source_factory(settings))
        indexer.source()  # connect and load the ABI outside the timing
        started = time.perf_counter()
        events = indexer.catch_up()
        elapsed = time.perf_counter() - started
        blocks = rpc.block_number() - deployment.block_number + 1
        db.close()
    return {"events": events, "blocks": blocks, "seconds": elapsed, "events_s": events / elapsed}


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="(internal) the load generator process")
    load.add_argument("--url", required=True)
    load.add_argument("--rate", type=float, required=True)
    load.add_argument("--duration", type=float, required=True)
    load.add_argument("--expect-count", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load (default 15)")
    parser.add_argument("--posts", type=int, default=3_000, help="postJob transactions for the indexer run")
    parser.add_argument("--backends", default="sqlite,postgresql", help="index backends for GET /jobs")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    if args.command == "load":
        print(json.dumps(asyncio.run(_load(args.url, args.rate, args.duration, args.expect_count))))
        return 0

    load_before = os.getloadavg()[0]
    busy_before, wall_before = busy_cpu_s(), time.monotonic()
    by_backend: dict[str, dict[str, Any]] = {}
    for backend in args.backends.split(","):
        by_backend[backend] = bench_jobs_list(args.jobs, args.rate, args.duration, backend)
        figures_of = by_backend[backend]
        print(
            f"{backend}: GET /jobs?limit=50, {args.jobs} jobs, {args.rate:g}/s for {args.duration:g} s: "
            f"p50 {figures_of['p50_ms']:.1f} ms, p99 {figures_of['p99_ms']:.1f} ms, "
            f"{figures_of['rps']:.1f} req/s, {figures_of['errors']} errors"
        )
    jobs_list = by_backend.get("sqlite") or next(iter(by_backend.values()))
    indexer = bench_indexer(args.posts)
    print(
        f"indexer catch-up: {indexer['events']} events over {indexer['blocks']} blocks in "
        f"{indexer['seconds']:.2f} s = {indexer['events_s']:.0f} events/s"
    )

    figures = {
        "jobs_list_p99_ms": round(jobs_list["p99_ms"], 2),
        "jobs_list_postgresql_p99_ms": round(by_backend.get("postgresql", {}).get("p99_ms", float("nan")), 2),
        "rps": round(jobs_list["rps"], 1),
        "indexer_events_s": round(indexer["events_s"], 1),
    }
    report = {
        **figures,
        "targets": TARGETS,
        "jobs_list": {
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in jobs_list.items()},
            "jobs_indexed": args.jobs,
            "offered_rate": args.rate,
            "duration_s": args.duration,
        },
        "jobs_list_by_backend": {
            backend: {k: round(v, 2) if isinstance(v, float) else v for k, v in figures_of.items()}
            for backend, figures_of in by_backend.items()
        },
        "indexer": {k: round(v, 3) if isinstance(v, float) else v for k, v in indexer.items()},
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_1m_before": round(load_before, 2),
            "load_avg_1m_after": round(os.getloadavg()[0], 2),
            "busy_cores": round((busy_cpu_s() - busy_before) / (time.monotonic() - wall_before), 2),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    met = (
        figures["jobs_list_p99_ms"] <= TARGETS["jobs_list_p99_ms"]
        and figures["jobs_list_postgresql_p99_ms"] <= TARGETS["jobs_list_postgresql_p99_ms"]
        and figures["indexer_events_s"] >= TARGETS["indexer_events_s"]
    )
    print(json.dumps(figures))
    print(f"wrote {args.output} ({'targets met' if met else 'TARGETS MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
