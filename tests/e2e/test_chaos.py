"""A short chaos run inside `make test`: the real market under every kind of fault, nothing lost or leaked.

Anvil, the gateway, 2 providers and 3 validators run as processes (crowdcompute/chaos/stack.py); 6 jobs
(digits and sleep) are posted while a fixed-seed schedule, a fault every 4-6 s, SIGKILLs and restarts a
provider, a validator and the gateway, cuts the nodes' RPC link, stalls the gateway and fills a
provider's disk (as root). bench/chaos.py runs the full-size suite and measures time to settle; this
test asserts only the invariants. A failure names its seed and how to replay it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crowdcompute.chaos import FAULT_KINDS, ChaosSettings, JobMix, replay_hint, run_chaos
from crowdcompute.chaos.engine import orphan_containers

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.docker]

SEED = 16


def test_a_short_chaos_run_loses_nothing_pays_nothing_twice_and_leaks_nothing(
    runtime_image: str, tmp_path: Path
) -> None:
    settings = ChaosSettings(
        root=tmp_path / "chaos",
        seed=SEED,
        providers=2,
        validators=3,
        mix=JobMix(count=6, digits_every=3, digits_segments=5, sleep_s=2.0),
        post_s=10.0,
        faults_s=30.0,
        gap_s=(4.0, 6.0),
        settle_timeout_s=150.0,
        disk_mib=128,
    )
    lines: list[str] = []
    result = run_chaos(settings, say=lines.append)
    replay = f"seed {SEED}: {replay_hint(SEED)} --jobs 6; the run's log:\n" + "\n".join(lines[-40:])
    figures = result.figures

    expected = set(FAULT_KINDS) if os.geteuid() == 0 else set(FAULT_KINDS) - {"fill_disk"}
    assert set(figures["faults"]) == expected, f"not every kind of fault was inflicted: {figures}\n{replay}"
    assert figures["jobs_posted"] == 6, f"{result.detail['post_failures']}\n{replay}"
    assert result.failures == [], f"{result.failures}\n{figures}\n{replay}"
    assert figures["lost"] == 0 and figures["jobs_settled"] == 6
    assert figures["double_paid"] == 0
    assert figures["duplicate_runs"] == 0
    assert figures["orphan_containers"] == 0
    assert figures["tokens_conserved"] is True
    # The engine's records were read: job containers ran (providers' runs and validators' replays).
    assert result.detail["containers_exited"] >= 6, f"{result.detail}\n{replay}"
    assert orphan_containers(settings.root) == [], "the stack's own cleanup left job containers"
    # The requester's watcher followed every job through the faults to its end (crowdcompute/chaos/settle.py).
    timeline = result.detail["timeline"]
    assert len(timeline) == 6, timeline
    assert all(line["closed_s"] is not None for line in timeline), timeline
    assert sorted(line["state"] for line in timeline) == sorted(
        state for state, count in figures["states"].items() for _ in range(count)
    ), f"the watcher's states differ from the chain's: {timeline}"
