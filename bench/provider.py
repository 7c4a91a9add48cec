"""Provider node figures, each on a fresh anvil.

1. Latency in real Docker (the small test image): `claim_to_start_s`, from the claim's receipt to the
   container's StartedAt, and `result_to_submit_s`, from the container's FinishedAt to the submitResult
   receipt (packing, pinning and the Merkle root included). One node, `LATENCY_RUNS` jobs in turn; the
   figure is the median, the samples are kept.
2. A race: `PROVIDERS` daemons (threads, the no-op executor) against `JOBS` jobs posted up front. From the
   chain's events: how many jobs were claimed exactly once; from the executors: executions started for a
   job the node did not win (`duplicate_runs`, must be 0); `jobs_per_s` = jobs submitted / wall time.

Prints the figures and writes bench/results/provider.json. Targets are reported, not asserted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the repository root holds `tests/` (the test image's builder).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from chain import (
    AnvilProcess,
    Capabilities,
    DevChain,
    EventReader,
    JobSpec,
    MarketClient,
    MarketConfig,
    PendingTx,
    VerificationMode,
    compile_contracts,
    deploy_market,
    dev_account,
    tokens,
)
from jobs.bundle import pack_directory
from jobs.cid import Cid
from jobs.executors.noop import NoopExecutor
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode

RESULTS = Path(__file__).resolve().parent / "results" / "provider.json"
TARGETS = {"claim_to_start_s": 1.0, "result_to_submit_s": 1.0, "duplicate_runs": 0}
PROVIDERS, JOBS, LATENCY_RUNS = 50, 500, 5
RACE_LIMIT_S = 120.0
# Fifty daemons share one process (and its GIL) here, and every one decodes every event: the race is
# CPU-bound, and faster polling only adds RPCs. Half a second (the default is one).
POLL_S = 0.5

CONFIG = MarketConfig(
    unbonding_delay=3600,
    min_provider_stake=tokens(10),
    min_validator_stake=tokens(10),
    validator_slash=tokens(1),
    reward_bps=100,
    fee_bps=200,
    min_collateral_bps=1_000,
    epoch_length=24 * 3600,
    epoch_reward_cap=tokens(250_000),
)
CAPS = Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens("0.1"))
SPEC = JobSpec(
    budget=tokens(1),
    bundle_digest=bytes(32),
    bundle_codec=0x55,
    collateral=tokens("0.1"),
    run_timeout=3600,
    cpu_cores=1,
    memory_mib=128,
    mode=VerificationMode.NONE,
    committee_size=1,
    verify_blocks=5,
    validator_fee=tokens("0.1"),
)
SCRIPT = """
import hashlib, json, os
out = os.environ["CROWDCOMPUTE_OUTPUT_DIR"]
os.makedirs(f"{out}/checkpoints")
data = b"checkpoint 0"
open(f"{out}/checkpoints/c0.bin", "wb").write(data)
json.dump([hashlib.sha256(data).hexdigest()], open(f"{out}/checkpoints/manifest.json", "w"))
open(f"{out}/model.bin", "wb").write(b"model")
print("done")
"""


def make_bundle(store: EmbeddedStore, folder: Path, image: str, digest: str) -> Cid:
    folder.mkdir(parents=True)
    (folder / "job.py").write_text(textwrap.dedent(SCRIPT))
    (folder / "job.toml").write_text(
        textwrap.dedent(
            f"""
            name = "bench"
            [runtime]
            image = "{image}"
            digest = "{digest}"
            entrypoint = ["python3", "/input/job.py"]
            [resources]
            cpus = 0.5
            memory_mib = 128
            disk_mib = 16
            timeout_s = 120
            [verification]
            mode = "none"
            committee_size = 1
            [outputs]
            max_size_mib = 4
            """
        )
    )
    tar = folder.with_suffix(".tar")
    with tar.open("wb") as out:
        pack_directory(folder, out)
    return store.add_file(tar)


def spec_for(cid: Cid) -> JobSpec:
    digest, codec = cid.to_chain()
    return dataclasses.replace(SPEC, bundle_digest=digest, bundle_codec=codec)


def fresh_market(node: AnvilProcess) -> MarketClient:
    rpc = node.rpc()
    deployment = deploy_market(rpc, dev_account(0), config=CONFIG, save_dir=None)
    market = MarketClient(rpc, deployment, account=dev_account(0))
    market.token.transfer(dev_account(1).address, tokens(10_000))
    return market


def wait_all(market: MarketClient, pending: list[PendingTx]) -> None:
    for tx in pending:
        market.sender.wait(tx)


def _seconds(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


# -- 1. latency in Docker ----------------------------------------------------------------------------


def measure_latency(work: Path) -> dict[str, Any]:
    import docker

    from jobs.executors.docker import DockerExecutor
    from tests.jobs.executor_images import build_test_image, ensure_docker

    ensure_docker()
    client = docker.from_env(timeout=300)
    image = build_test_image(client)
    label = f"bench-provider-{int(time.time())}"
    with AnvilProcess() as chain, EmbeddedStore(work / "store", fsync=False) as store:
        market = fresh_market(chain)
        requester = market.with_account(dev_account(1))
        provider = market.with_account(dev_account(2))
        market.token.transfer(provider.me, tokens(1_000))
        provider.register_provider(CAPS)
        provider.stake(tokens(100))
        cid = make_bundle(store, work / "job", image.name, image.digest)
        executor = DockerExecutor(client, node_id=label, poll_interval_s=0.1)
        node = ProviderNode(
            provider, store, executor, NodeConfig(data_dir=work / "node", poll_interval_s=0.05)
        )
        claim_to_start, result_to_submit = [], []
        try:
            for _ in range(LATENCY_RUNS):
                job_id = requester.post_job(spec_for(cid)).job_id
                while job_id not in node.step().claimed:
                    time.sleep(0.05)
                node.wait_idle(120)
                record = node.state.get(job_id)
                assert record is not None and record.result is not None, record
                started = _seconds(record.result["execution"]["started_at"])
                assert started and record.claimed_at and record.exited_at and record.submitted_at, record
                claim_to_start.append(round(started - record.claimed_at, 3))
                result_to_submit.append(round(record.submitted_at - record.exited_at, 3))
        finally:
            node.close()
            executor.close()
            for container in client.containers.list(
                all=True, filters={"label": f"crowdcompute.node={label}"}
            ):
                container.remove(force=True)
            client.close()
    return {
        "claim_to_start_s": statistics.median(claim_to_start),
        "result_to_submit_s": statistics.median(result_to_submit),
        "claim_to_start_samples_s": claim_to_start,
        "result_to_submit_samples_s": result_to_submit,
    }


# -- 2. the race ---------------------------------------------------------------------------------------


class _RaceLog(logging.Handler):
    """Counts the daemons' lost races and how many of them cost a mined (reverted) transaction."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lost = self.reverted = 0
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "lost the race" in message:
            with self._lock2:
                self.lost += 1
                self.reverted += "one reverted transaction" in message


def bench_accounts(count: int) -> list[LocalAccount]:
    return [Account.from_key(keccak(f"crowdcompute-bench-provider-{i}".encode())) for i in range(count)]


def setup_providers(market: MarketClient, accounts: list[LocalAccount]) -> None:
    chain = DevChain(market.rpc)
    for account in accounts:
        chain.set_balance(account.address, 10**20)
    transfer = market.token.codec.function("transfer")
    wait_all(
        market,
        [
            market.sender.send(
                market.signer, market.token.address, transfer.encode(a.address, tokens(100)), gas=100_000
            )
            for a in accounts
        ],
    )
    register, stake = market.codec.function("registerProvider"), market.codec.function("stake")
    for data, gas in (
        (register.encode(CAPS.to_abi(), bytes(32)), 300_000),
        (stake.encode(tokens(50)), 200_000),
    ):
        wait_all(market, [market.sender.send(a, market.address, data, gas=gas) for a in accounts])


def post_jobs(requester: MarketClient, cid: Cid, count: int) -> None:
    data = requester.codec.function("postJob").encode(spec_for(cid).to_abi())
    wait_all(
        requester,
        [requester.sender.send(requester.signer, requester.address, data, gas=500_000) for _ in range(count)],
    )


def events_of(market: MarketClient, name: str) -> list[Any]:
    return EventReader(market.rpc, market.address, market.codec, [name], batch_blocks=100_000).catch_up()


def measure_race(work: Path) -> dict[str, Any]:
    counter = _RaceLog()
    logging.getLogger("provider_node").addHandler(counter)
    logging.getLogger("provider_node").setLevel(logging.INFO)
    with AnvilProcess() as chain, EmbeddedStore(work / "race-store", fsync=False) as store:
        market = fresh_market(chain)
        accounts = bench_accounts(PROVIDERS)
        setup_providers(market, accounts)
        cid = make_bundle(store, work / "race-job", "crowdcompute/bench:1", "sha256:" + "ab" * 32)
        began_posting = time.monotonic()
        post_jobs(market.with_account(dev_account(1)), cid, JOBS)
        posting_s = time.monotonic() - began_posting
        executors = [NoopExecutor() for _ in accounts]
        artifacts = compile_contracts()
        nodes = [
            ProviderNode(
                # One client each, as separate daemons have; the sender (thread-safe) is shared.
                MarketClient(
                    market.rpc, market.deployment, artifacts=artifacts, sender=market.sender, account=account
                ),
                store,
                executor,
                NodeConfig(data_dir=work / f"node-{i}", poll_interval_s=POLL_S),
            )
            for i, (account, executor) in enumerate(zip(accounts, executors, strict=True))
        ]
        stop = threading.Event()
        threads = [
            threading.Thread(target=n.run, args=(stop,), name=f"node-{i}") for i, n in enumerate(nodes)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        results = EventReader(
            market.rpc, market.address, market.codec, ["ResultSubmitted"], batch_blocks=100_000
        )
        submitted = 0
        while submitted < JOBS and time.monotonic() - began < RACE_LIMIT_S:
            time.sleep(0.1)
            submitted += len(results.poll().events)
        elapsed = time.monotonic() - began
        stop.set()
        for thread in threads:
            thread.join(30)
        claimed = events_of(market, "JobClaimed")
        claims = Counter(int(e.args["jobId"]) for e in claimed)
        winner = {int(e.args["jobId"]): e.args["provider"] for e in claimed}
        submitted_on_chain = len(events_of(market, "ResultSubmitted"))
    logging.getLogger("provider_node").removeHandler(counter)
    runs = Counter(int(request.job_id) for executor in executors for request in executor.requests)
    duplicate_runs = sum(
        1
        for node, executor in zip(nodes, executors, strict=True)
        for request in executor.requests
        if winner.get(int(request.job_id)) != node.me
    ) + sum(count - 1 for count in runs.values() if count > 1)
    return {
        "providers": PROVIDERS,
        "jobs": JOBS,
        "claimed_once": sum(1 for job_id in range(1, JOBS + 1) if claims[job_id] == 1),
        "submitted": submitted_on_chain,
        "duplicate_runs": duplicate_runs,
        "jobs_per_s": round(submitted_on_chain / elapsed, 2),
        "race_wall_s": round(elapsed, 2),
        "posting_s": round(posting_s, 2),
        "lost_races": counter.lost,
        "reverted_claim_txs": counter.reverted,
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)  # the race counter listens at INFO; the console stays quiet
    with tempfile.TemporaryDirectory(prefix="bench-provider-") as scratch:
        work = Path(scratch)
        (work / "latency").mkdir()
        (work / "race").mkdir()
        figures: dict[str, Any] = measure_latency(work / "latency")
        figures.update(measure_race(work / "race"))
    figures["targets"] = {**TARGETS, "claimed_once": figures["jobs"]}
    figures["within_targets"] = {
        "claim_to_start_s": figures["claim_to_start_s"] <= TARGETS["claim_to_start_s"],
        "result_to_submit_s": figures["result_to_submit_s"] <= TARGETS["result_to_submit_s"],
        "duplicate_runs": figures["duplicate_runs"] == 0,
        "claimed_once": figures["claimed_once"] == figures["jobs"],
    }
    figures["note"] = (
        f"latency: median of {LATENCY_RUNS} jobs in Docker (small test image), one node; race: {PROVIDERS} "
        f"daemons (threads, no-op executor) against {JOBS} jobs posted up front, on one 2-core machine"
    )
    for key in (
        "claim_to_start_s",
        "result_to_submit_s",
        "jobs",
        "claimed_once",
        "duplicate_runs",
        "jobs_per_s",
    ):
        print(f"{key:<20}{figures[key]}")
    print(f"lost races {figures['lost_races']} ({figures['reverted_claim_txs']} cost a reverted transaction)")
    for key, ok in figures["within_targets"].items():
        print(f"target {key}: {'met' if ok else 'MISSED'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
