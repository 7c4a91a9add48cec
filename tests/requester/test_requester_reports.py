"""`job status` shows what providers reported to the gateway (signed skip reasons, energy records), read
from a live gateway indexing the real anvil; without a gateway it says so and shows the chain's view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from chain import DEV_PRIVATE_KEYS, Capabilities, JobId, MarketClient, dev_account, tokens
from chain.anvil import AnvilProcess, free_port
from crowdcompute.job_cli import job_app
from crowdcompute.requester import submit_job
from gateway_protocol import ProviderReportWire, provider_report_headers, report_body, report_path
from jobs.store import EmbeddedStore
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.requester_jobs import write_job

SECOND_PROVIDER = 7


def report(gateway: str, job_id: JobId, index: int, body: ProviderReportWire) -> None:
    """A provider's signed report, once the gateway has indexed the job and its claim (real signature, real
    HTTP; until then it answers 404 or 403)."""
    data = report_body(body)
    headers = provider_report_headers(dev_account(index), 31337, job_id, data)
    deadline = time.monotonic() + 15
    while True:
        answer = httpx.post(
            gateway + report_path(job_id),
            content=data,
            headers={**headers, "Content-Type": "application/json"},
            trust_env=False,
        )
        if answer.status_code not in (403, 404) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert answer.status_code == 200, answer.text


def test_job_status_shows_why_providers_skip_it_and_its_energy(
    anvil: AnvilProcess,
    deployments_dir: Path,
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    second = market.with_account(dev_account(SECOND_PROVIDER))
    second.register_provider(
        Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1)), b"\x02" * 32
    )
    job_id = submit_job(requester, write_job(tmp_path / "job"), store=store).job_id
    image = "runtime image crowdcompute/runtime-cpu:torch2.13 is not present locally (nodes never pull)"
    report(gateway_url, job_id, 2, {"type": "skip", "kind": "image not present", "reason": image})
    busy = "at capacity: 1 of 1 job slots busy"
    report(gateway_url, job_id, SECOND_PROVIDER, {"type": "skip", "kind": "busy", "reason": busy})

    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    cli = json_cli(job_app, options, {"CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[1]})
    status: dict[str, Any] = cli("status", str(job_id), "--gateway", gateway_url)
    assert status["state"] == "Open"
    assert status["reports"]["summary"] == "2 providers saw it and skipped it: 1 busy; 1 image not present"
    assert {s["reason"] for s in status["reports"]["skips"]} == {image, busy}

    provider.claim_job(job_id)
    energy: ProviderReportWire = {
        "type": "energy",
        "kwh": 0.02,
        "gco2e": 8.0,
        "method": "estimate",
        "measured": False,
        "grid_gco2e_per_kwh": 400.0,
        "seconds": 30.0,
    }
    report(gateway_url, job_id, 2, energy)
    shown = CliRunner().invoke(job_app, ["status", str(job_id), "--gateway", gateway_url, *options])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    # The provider that holds the job now is no longer among those that skipped it.
    assert "  skipped    1 provider saw it and skipped it: busy" in lines
    assert any(line.endswith(busy) and line.startswith("    0x") for line in lines)
    energy_line = next(line for line in lines if line.startswith("  energy     "))
    assert "0.02 kWh, 8 gCO2e (estimated: estimate, grid 400 gCO2e/kWh), reported by provider" in energy_line


def test_job_status_without_a_gateway_says_so(
    anvil: AnvilProcess,
    deployments_dir: Path,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    job_id = submit_job(requester, write_job(tmp_path / "job"), store=store).job_id
    nowhere = f"http://127.0.0.1:{free_port()}"
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    cli = json_cli(job_app, options, {})
    status = cli("status", str(job_id), "--gateway", nowhere)
    assert status["state"] == "Open" and status["reports"] is None
    shown = CliRunner().invoke(job_app, ["status", str(job_id), "--gateway", nowhere, *options])
    assert f"  reports    none read: no gateway answers at {nowhere}" in shown.stdout.splitlines()
