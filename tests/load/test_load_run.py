"""A tiny load run on a real devnet: no-op providers and validators (no Docker) settle every job Accepted.

2 providers and 1 validator with `--executor noop` as processes (crowdcompute/load/stack.py), 8 jobs posted
over 4 s: the validator's no-op re-run must give the provider's bytes for `replicate` to accept, and every
figure bench/load.py reports must be there and make sense. bench/load.py measures the full size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crowdcompute.load import LoadSettings, run_load

pytestmark = [pytest.mark.slow, pytest.mark.chain]

JOBS = 8


def test_a_tiny_load_settles_every_job_accepted_with_every_figure(tmp_path: Path) -> None:
    lines: list[str] = []
    settings = LoadSettings(
        root=tmp_path / "load",
        jobs=JOBS,
        post_s=4.0,
        providers=2,
        validators=1,
        drain_s=60.0,
        gateway_rps=5.0,
    )
    result = run_load(settings, say=lines.append)
    f, detail = result.figures, result.detail
    log = "\n".join(lines[-20:]) + f"\n{detail}"

    assert f["jobs_posted"] == JOBS and detail["post_failures"] == [], log
    assert f["outcomes"] == {"accepted": JOBS}, log  # the validator's no-op re-run matched every result
    assert f["jobs_settled"] == f["jobs_accepted"] == JOBS and f["jobs_not_settled"] == 0
    assert detail["accepted_early"] == JOBS, "each unanimous committee was settled by the requester at once"
    claim, settle = f["spreads"]["post_to_claim_s"], f["spreads"]["submit_to_settle_s"]
    assert 0.0 <= claim["min"] <= f["post_to_claim_p50_s"] <= f["post_to_claim_p99_s"] <= claim["max"]
    assert 0.0 < settle["min"] <= f["submit_to_settle_p50_s"] <= f["submit_to_settle_p99_s"] <= settle["max"]
    assert f["post_to_settle_p50_s"] >= f["submit_to_settle_p50_s"]
    assert f["offered_jobs_per_min"] == 120.0 and f["jobs_per_min"] > 0
    assert f["gateway_get_jobs_samples"] > 0 and f["gateway_get_jobs_failed"] == 0
    assert 0.0 < f["gateway_get_jobs_p50_ms"] <= f["gateway_get_jobs_p99_ms"]
    cpu = detail["cpu"]["cpu_s"]
    assert set(cpu) == {"anvil", "gateway", "providers", "validators", "bench"}
    assert cpu["providers"] > 0 and cpu["validators"] > 0 and cpu["anvil"] > 0
