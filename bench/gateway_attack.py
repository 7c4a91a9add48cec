#!/usr/bin/env python3
"""The gateway probed as an attacker would; writes bench/results/gateway_attack.json.

Each phase runs a real gateway process (`crowdcompute gateway serve`) on 127.0.0.1 with a synthetic index
(one claimed job whose log holds 10,000 lines of 7 KB, about 70 MB):

- `healthz_p90_ratio_under_log_flood`: `/healthz` latency sampled one request at a time, first alone
  (the baseline), then while 4 unauthenticated clients (a second process) push ~8 MB log batches in a
  loop; the ratio of the two 90th percentiles.
- `rss_growth_mib`: the gateway's resident memory after 200 clients that open the job's log stream
  (`?follow=true`) and never read, then 8 concurrent maximal log pages (`limit=10000`), all closed,
  minus its memory before. The figure
  measures what an admitted slow reader costs: the 200 come from 25 loopback addresses, 8 each.
- `anon_disk_written_mib`: 30 bundle uploads of 4 MiB, each signed by a fresh key (nothing staked, no
  tokens), against a gateway on anvil with the market deployed: the bytes the gateway process wrote
  (`/proc/<pid>/io` wchar) minus what it wrote to its log and its sockets. Then a funded account
  uploads distinct 1 MiB bundles under a 3 MiB quota until refused (`quota`).
- `fuzz_server_errors`: the schema-driven fuzz of every operation in `/openapi.json`
  (`tests/api/fuzz_api.py`), its count of 5xx answers.

Targets: ratio <= 3; RSS growth <= 50 MiB; anonymous disk writes 0; fuzz server errors 0.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.gateway_process import JOB_ID, build_index, gateway
from chain import tokens
from tests.api.sse_clients import close_streams, open_idle_streams

RESULTS = Path(__file__).resolve().parent / "results" / "gateway_attack.json"
TARGETS = {
    "healthz_p90_ratio_under_log_flood": 3.0,
    "rss_growth_mib": 50.0,
    "anon_disk_written_mib": 0.0,
    "fuzz_server_errors": 0,
}
MiB = 1024 * 1024


# ---------------------------------------------------------------- phase 1: /healthz under a log flood


def flood_body() -> bytes:
    """A valid ~8 MB log batch of 300,000 short lines, sent with no credentials."""
    lines = ",".join(f'{{"seq":{seq},"text":"x"}}' for seq in range(300_000))
    return f'{{"lines":[{lines}]}}'.encode()


async def _flood(url: str, clients: int, seconds: float) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    body = flood_body()
    head = (
        f"POST /jobs/{JOB_ID}/logs HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    statuses: dict[str, int] = {}
    sent = 0
    stop = time.monotonic() + seconds

    async def one_client(source: str) -> None:
        nonlocal sent
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                writer.write(head + body)
                drain = asyncio.ensure_future(writer.drain())
                line = await asyncio.wait_for(reader.readline(), timeout=30)
                status = line.split(b" ")[1].decode() if line.startswith(b"HTTP/") else "closed"
                statuses[status] = statuses.get(status, 0) + 1
                sent += 1
                drain.cancel()
            except (TimeoutError, OSError, IndexError):
                statuses["error"] = statuses.get("error", 0) + 1
            finally:
                writer.close()

    # Each flooder is its own client (source address 127.0.0.2, .3, ...): the prober at 127.0.0.1 is not one
    # of them, as a health check is not one of an attacker's addresses.
    await asyncio.gather(*(one_client(f"127.0.0.{2 + i}") for i in range(clients)))
    return {"requests": sent, "body_bytes": len(body), "statuses": statuses}


def sample_healthz(url: str, seconds: float, pause_s: float = 0.01) -> list[float]:
    """`/healthz` latencies (ms), one request at a time on one keep-alive connection."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/healthz")
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = client.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"/healthz answered {response.status_code}")
            time.sleep(pause_s)
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def bench_log_flood(tmp: Path, seconds: float, flooders: int) -> dict[str, Any]:
    data_dir = tmp / "flood"
    data_dir.mkdir()
    build_index(data_dir)
    # The prober samples at ~100/s, past the per-client default of 600/min: its own limit is raised (the
    # flooders keep every default, the failed-authentication limit included).
    with gateway(data_dir, EDGE_RATE_LIMIT_PER_MINUTE="60000", EDGE_RATE_LIMIT_BURST="2000") as server:
        baseline = sample_healthz(server.url, seconds)
        flood = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "flood",
                "--url",
                server.url,
                "--clients",
                str(flooders),
                "--seconds",
                str(seconds + 2),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)  # the flooders connect and start sending
        flooded = sample_healthz(server.url, seconds)
        out, _ = flood.communicate(timeout=seconds + 60)
    flood_report = json.loads(out)
    base_p90, flood_p90 = percentile(baseline, 0.9), percentile(flooded, 0.9)
    return {
        "ratio": flood_p90 / base_p90,
        "baseline": _summary(baseline),
        "under_flood": _summary(flooded),
        "flooders": flooders,
        "flood": flood_report,
    }


def _summary(latencies: list[float]) -> dict[str, Any]:
    return {
        "samples": len(latencies),
        "p50_ms": round(statistics.median(latencies), 3),
        "p90_ms": round(percentile(latencies, 0.9), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
    }


# ---------------------------------------------------------------- phase 2: memory under slow readers


def bench_memory(tmp: Path, sse_clients: int, pages: int, hold_s: float) -> dict[str, Any]:
    data_dir = tmp / "memory"
    data_dir.mkdir()
    build_index(data_dir)
    with gateway(data_dir) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for _ in range(20):
                client.get("/healthz")
                client.get(f"/jobs/{JOB_ID}/logs", params={"limit": 10})
        time.sleep(1.0)
        before = server.rss_mib()
        # 8 streams from each of 25 addresses (127.0.0.10, .11, ...): within the per-client stream cap, so
        # every one is admitted and the figure is what admitted slow readers cost.
        sockets = [
            sock
            for first in range(0, sse_clients, 8)
            for sock in open_idle_streams(
                server.url,
                f"/jobs/{JOB_ID}/logs?follow=true",
                min(8, sse_clients - first),
                source=f"127.0.0.{10 + first // 8}",
            )
        ]
        time.sleep(hold_s)
        with_streams = server.rss_mib()

        async def maximal_pages() -> list[int]:
            async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                answers = await asyncio.gather(
                    *(client.get(f"/jobs/{JOB_ID}/logs", params={"limit": 10_000}) for _ in range(pages))
                )
            return [len(a.content) for a in answers]

        page_bytes = asyncio.run(maximal_pages())
        peak = server.rss_mib()
        close_streams(sockets)
        time.sleep(3.0)
        after = server.rss_mib()
    return {
        "growth_mib": after - before,
        "rss_before_mib": round(before, 1),
        "rss_with_streams_mib": round(with_streams, 1),
        "rss_after_pages_mib": round(peak, 1),
        "rss_after_close_mib": round(after, 1),
        "sse_clients": sse_clients,
        "pages": pages,
        "page_bytes": page_bytes,
    }


# ---------------------------------------------------------------- phase 3: disk from fresh keys, quotas


def write_bundle(path: Path, size: int) -> Path:
    """A valid job folder as a tar: a manifest and `size` random bytes (distinct content each call)."""
    from tests.api.bundle_archives import VALID_MANIFEST  # the manifest the gateway tests upload

    with tarfile.open(path, mode="w") as archive:
        for name, data in (("job.toml", VALID_MANIFEST), ("data.bin", secrets.token_bytes(size))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _upload(url: str, account: Any, chain_id: int, bundle: Path) -> int:
    """One `POST /bundles` by the requester library; the HTTP status."""
    from crowdcompute.requester.errors import GatewayRefused
    from crowdcompute.requester.gateway import GatewayClient

    with GatewayClient(url) as client:
        try:
            client.upload_bundle(bundle, account, chain_id)
        except GatewayRefused as exc:
            return exc.status
    return 201


def bench_uploads(tmp: Path, uploads: int, size: int, quota_mib: int) -> dict[str, Any]:
    from eth_account import Account

    from chain import MarketClient, compile_contracts, deploy_market, dev_account
    from chain.anvil import AnvilProcess

    data_dir = tmp / "uploads"
    data_dir.mkdir()
    build_index(data_dir)
    artifacts = compile_contracts()
    with AnvilProcess() as node:
        rpc = node.rpc()
        deployment = deploy_market(rpc, dev_account(0), artifacts=artifacts, save_dir=tmp / "deployments")
        funded = dev_account(1)
        MarketClient(rpc, deployment, account=dev_account(0)).token.transfer(funded.address, tokens(10))
        settings = {
            "RPC_URL": node.url,
            "CHAIN_ID": str(rpc.chain_id),
            "DEPLOYMENTS_DIR": str(tmp / "deployments"),
            "UPLOAD_TMP_DIR": str(data_dir / "upload-tmp"),
            "UPLOAD_QUOTA_BYTES": str(quota_mib * MiB),
        }
        with gateway(data_dir, **settings) as server:
            chain_id = rpc.chain_id
            accepted = 0
            refused_with = None
            for _ in range(quota_mib + 2):
                status = _upload(
                    server.url, funded, chain_id, write_bundle(tmp / "funded.tar", MiB - 64 * 1024)
                )
                if status != 201:
                    refused_with = status
                    break
                accepted += 1
            io_before, log_before = server.io(), server.log_path.stat().st_size
            anon_statuses: dict[str, int] = {}
            for _ in range(uploads):
                status = _upload(server.url, Account.create(), chain_id, write_bundle(tmp / "anon.tar", size))
                anon_statuses[str(status)] = anon_statuses.get(str(status), 0) + 1
            io_after, log_after = server.io(), server.log_path.stat().st_size
    wchar = io_after["wchar"] - io_before["wchar"]
    log_bytes = log_after - log_before
    return {
        "anon_written_bytes": max(0, wchar - log_bytes),
        "anon_wchar": wchar,
        "anon_log_bytes": log_bytes,
        "anon_uploads": uploads,
        "anon_upload_bytes": size,
        "anon_statuses": anon_statuses,
        "quota": {"quota_mib": quota_mib, "accepted_1mib": accepted, "then_refused_with": refused_with},
    }


# ---------------------------------------------------------------- phase 4: the fuzz


def bench_fuzz(tmp: Path, max_examples: int) -> dict[str, Any]:
    from tests.api.fuzz_api import run_fuzz

    result = run_fuzz(tmp / "fuzz", max_examples=max_examples)
    return {"cases": result.cases, "server_errors": result.server_errors, "failures": result.failures[:20]}


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    flood = sub.add_parser("flood", help="(internal) the flooding clients' process")
    flood.add_argument("--url", required=True)
    flood.add_argument("--clients", type=int, required=True)
    flood.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="healthz sampling per period (10)")
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--fuzz-examples", type=int, default=25, help="examples per operation (25)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--phases", default="flood,memory,uploads,fuzz", help="comma-separated subset (all four by default)"
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))

    if args.command == "flood":
        print(json.dumps(asyncio.run(_flood(args.url, args.clients, args.seconds))))
        return 0

    load_before = os.getloadavg()
    report: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gateway-attack-") as tmp_name:
        tmp = Path(tmp_name)
        if "flood" in phases:
            flood_figures = bench_log_flood(tmp, args.seconds, args.flooders)
            report["log_flood"] = flood_figures
            figures["healthz_p90_ratio_under_log_flood"] = round(flood_figures["ratio"], 2)
            print(
                f"/healthz p90 {flood_figures['baseline']['p90_ms']} ms alone, "
                f"{flood_figures['under_flood']['p90_ms']} ms under {args.flooders} log flooders "
                f"(ratio {flood_figures['ratio']:.2f}); flood {flood_figures['flood']}"
            )
        if "memory" in phases:
            memory = bench_memory(tmp, args.sse_clients, args.pages, hold_s=5.0)
            report["memory"] = memory
            figures["rss_growth_mib"] = round(memory["growth_mib"], 1)
            print(
                f"RSS {memory['rss_before_mib']} -> {memory['rss_with_streams_mib']} MiB with "
                f"{args.sse_clients} silent streams -> {memory['rss_after_pages_mib']} after "
                f"{args.pages} pages -> {memory['rss_after_close_mib']} closed "
                f"(growth {memory['growth_mib']:.1f} MiB)"
            )
        if "uploads" in phases:
            uploads = bench_uploads(tmp, args.uploads, 4 * MiB, quota_mib=3)
            report["uploads"] = uploads
            figures["anon_disk_written_mib"] = round(uploads["anon_written_bytes"] / MiB, 3)
            print(
                f"{args.uploads} uploads from fresh keys: {uploads['anon_statuses']}, "
                f"{uploads['anon_written_bytes']} bytes written; quota {uploads['quota']}"
            )
        if "fuzz" in phases:
            fuzz = bench_fuzz(tmp, args.fuzz_examples)
            report["fuzz"] = fuzz
            figures["fuzz_server_errors"] = fuzz["server_errors"]
            print(f"fuzz: {fuzz['cases']} cases, {fuzz['server_errors']} server errors")

    report = {
        **figures,
        "targets": TARGETS,
        **report,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    missed = [name for name, target in TARGETS.items() if name in figures and (figures[name] > target)]
    print(json.dumps(figures))
    print(f"wrote {args.output} ({'targets met' if not missed else 'TARGETS MISSED: ' + ', '.join(missed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
