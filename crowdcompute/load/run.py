"""One load run: a `LoadStack` of no-op nodes, jobs posted at an even rate, every job's timeline, the figures.

    result = run_load(LoadSettings(root=Path("build/load"), jobs=40, post_s=30, providers=3, validators=2))
    result.figures["jobs_per_min"], result.figures["post_to_claim_p99_s"]

The job is examples/sleep (mode `replicate`), its committee cut to the validators there are; no-op nodes
never run it. Each post is one `postJob` transaction from the requester's standing allowance (approved
once for every job's escrow), so the poster keeps pace on a small machine.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chain import REQUESTER_ACCOUNT, JobSpec, MarketClient, tokens
from crowdcompute.demo.example_jobs import EXAMPLES_DIR
from crowdcompute.load.cpu import process_cpu_s
from crowdcompute.load.figures import Timelines, figures, spread
from crowdcompute.load.stack import LoadStack
from crowdcompute.load.traffic import Accepter, ChainWatcher, GatewaySampler, Poster
from crowdcompute.requester.spec import job_spec_for
from crowdcompute.requester.submit import pack_job
from jobs.store import EmbeddedStore

__all__ = ["LoadResult", "LoadSettings", "run_load"]


@dataclass(frozen=True)
class LoadSettings:
    root: Path
    jobs: int = 500
    post_s: float = 300.0
    providers: int = 10
    validators: int = 5
    drain_s: float = 120.0  # after the last post, how long the market has to settle what is left
    verify_blocks: int = 100  # the most postJob takes; ~100 s with a block a second
    gateway_rps: float = 5.0  # GET /jobs samples per second
    poll_interval_s: float = 0.25  # the nodes' idle poll
    budget_tokens: int = 1
    provider_capacity: int = 2  # jobs each provider holds at once
    validator_workers: int = 4  # verifications each validator runs at once
    automine: bool = False  # True: the devnet's mixed mining (each transaction mined at once, and 1 s blocks)


@dataclass
class LoadResult:
    figures: dict[str, Any]
    detail: dict[str, Any]


def prepare_job(jobs_dir: Path, validators: int) -> Path:
    """examples/sleep with a committee no larger than the validators there are (odd, at least one)."""
    dest = jobs_dir / "sleep"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(EXAMPLES_DIR / "sleep", dest, ignore=shutil.ignore_patterns("__pycache__", "output"))
    committee = max(1, min(3, validators if validators % 2 else validators - 1))
    manifest = dest / "job.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace("committee_size = 3", f"committee_size = {committee}"))
    return dest


def prepare_spec(market: MarketClient, store_dir: Path, job_dir: Path, settings: LoadSettings) -> JobSpec:
    """Pack the job once, put its bundle in the shared store, and build the spec every post repeats."""
    packed = pack_job(job_dir, job_dir.parent / "bundle.tar")
    EmbeddedStore(store_dir, fsync=False).add_file(packed.tar_path, cid_version=1, pin=True)
    config = market.config()
    return job_spec_for(
        packed.manifest,
        packed.cid,
        budget=tokens(settings.budget_tokens),
        verify_blocks=settings.verify_blocks,
        fee_bps=config.fee_bps,
        min_collateral_bps=config.min_collateral_bps,
    )


def run_load(settings: LoadSettings, say: Callable[[str], None] = lambda _line: None) -> LoadResult:
    stack = LoadStack(
        settings.root,
        providers=settings.providers,
        validators=settings.validators,
        poll_interval_s=settings.poll_interval_s,
        automine=settings.automine,
        provider_capacity=settings.provider_capacity,
        validator_workers=settings.validator_workers,
        log=say,
    )
    timelines = Timelines()
    with stack:
        requester = stack.market(REQUESTER_ACCOUNT)
        spec = prepare_spec(
            requester, stack.store_dir, prepare_job(stack.root / "jobs", settings.validators), settings
        )
        escrow = spec.with_protocol_fee(requester.fee_bps()).escrow
        requester.token.approve(requester.address, escrow * settings.jobs)
        say(f"posting {settings.jobs} jobs over {settings.post_s:g} s (escrow {escrow} each)")
        cpu_before = process_cpu_s(stack)
        began = time.monotonic()

        def clock() -> float:
            return time.monotonic() - began

        watcher = ChainWatcher(requester, timelines, clock, start_block=requester.rpc.block_number())
        accepter = Accepter(requester, watcher, timelines, stack.gateway_url)
        sampler = GatewaySampler(stack.gateway_url, settings.gateway_rps)
        poster = Poster(requester, spec, settings.jobs, settings.post_s, timelines, clock)
        loops = (watcher.start(), accepter.start(), sampler.start())
        poster.start().join()
        posted_s = clock()
        say(f"posted {len(timelines.ours())} jobs in {posted_s:.1f} s; draining up to {settings.drain_s:g} s")
        while clock() < posted_s + settings.drain_s and timelines.unsettled():
            stack.check()
            time.sleep(0.5)
        drained_s = clock()
        for loop in reversed(loops):
            loop.stop()
        cpu = _cpu_spent(cpu_before, process_cpu_s(stack), drained_s)
        logs = str(stack.supervisor.logs)
    result = figures(timelines, post_window_s=settings.post_s)
    gateway = spread(sampler.latencies_s, scale=1000.0, digits=2)
    result |= {
        "gateway_get_jobs_p50_ms": gateway["p50"],
        "gateway_get_jobs_p99_ms": gateway["p99"],
        "gateway_get_jobs_samples": len(sampler.latencies_s),
        "gateway_get_jobs_failed": sampler.failed,
        "drain_s": round(drained_s - posted_s, 1),
    }
    result["spreads"]["gateway_get_jobs_ms"] = gateway
    detail = {
        "unsettled_jobs": timelines.unsettled(),
        "post_failures": poster.failures,
        "post_lag_s": spread(poster.lag_s),
        "accepted_early": accepter.accepted,
        "loop_errors": {"watcher": watcher.errors, "accepter": accepter.errors, "sampler": sampler.errors},
        "cpu": cpu,
        "settings": {**asdict(settings), "root": str(settings.root)},
        "logs": logs,
    }
    return LoadResult(result, detail)


def _cpu_spent(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, Any]:
    """CPU seconds each kind of process spent during the run, and the cores that makes on average."""
    spent = {name: round(after[name] - before.get(name, 0.0), 1) for name in after}
    return {"cpu_s": spent, "cores": {n: round(s / wall_s, 2) for n, s in spent.items()} if wall_s else {}}
