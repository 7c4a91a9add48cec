"""Provider reports against a real anvil and a real gateway app: signed skip reasons and energy records of
registered providers are stored and shown (on the job, the provider, /stats); anyone else is refused, and
each address is rate-limited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from chain import Capabilities, Deployment, JobId, MarketClient, dev_account, save_deployment, tokens
from chain.anvil import AnvilProcess
from gateway_protocol import (
    ProviderReportWire,
    provider_report_headers,
    report_body,
    report_path,
)
from tests.api.chain_cast import SPEC, Cast, make_cast

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""

SECOND_PROVIDER = 7
STRANGER = 3  # funded, never registered
VALIDATOR = 4

SKIP_IMAGE: ProviderReportWire = {
    "type": "skip",
    "kind": "image not present",
    "reason": "runtime image crowdcompute/runtime-cpu:torch2.13 is not present locally (nodes never pull)",
}
SKIP_BUSY: ProviderReportWire = {
    "type": "skip",
    "kind": "busy",
    "reason": "at capacity: 1 of 1 job slots busy",
}
ENERGY: ProviderReportWire = {
    "type": "energy",
    "kwh": 0.0125,
    "gco2e": 2.5,
    "method": "rapl+nvml",
    "measured": True,
    "grid_gco2e_per_kwh": 200.0,
    "seconds": 61.5,
}


@pytest.fixture
def cast(market: MarketClient) -> Cast:
    return make_cast(market)


@pytest.fixture
def chain_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, anvil: AnvilProcess, deployment: Deployment
) -> Callable[..., Settings]:
    save_deployment(deployment, tmp_path / "deployments")

    def settings(**overrides: Any) -> Settings:
        return make_settings(rpc_url=anvil.url, chain_id=anvil.chain_id, **overrides)

    return settings


def indexed(settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.gateway.indexer.catch_up()
    return app


def send(
    client: TestClient, job_id: int, report: ProviderReportWire, signer: LocalAccount, **headers: str
) -> httpx.Response:
    job_id = JobId(job_id)
    body = report_body(report)
    signed = provider_report_headers(signer, 31337, job_id, body)
    return client.post(
        report_path(job_id),
        content=body,
        headers={**signed, "Content-Type": "application/json", **headers},
    )


def test_a_registered_providers_skip_reports_are_stored_and_shown_on_the_job(
    cast: Cast, chain_settings: Callable[..., Settings]
) -> None:
    job_id = cast.requester.post_job(SPEC).job_id
    second = cast.provider.with_account(dev_account(SECOND_PROVIDER))
    second.register_provider(Capabilities(cpu_cores=2, memory_mib=2048), b"\x02" * 32)
    provider = dev_account(2)

    with TestClient(indexed(chain_settings())) as client:
        first = send(client, job_id, SKIP_BUSY, provider)
        assert first.status_code == 200, first.text
        assert first.json() == {
            "job_id": job_id,
            "provider": provider.address.lower(),
            "type": "skip",
            "changed": True,
        }
        # A new reason replaces the provider's earlier one; the same reason again changes nothing.
        assert send(client, job_id, SKIP_IMAGE, provider).json()["changed"] is True
        assert send(client, job_id, SKIP_IMAGE, provider).json()["changed"] is False
        assert send(client, job_id, SKIP_BUSY, dev_account(SECOND_PROVIDER)).status_code == 200

        reports = client.get(f"/jobs/{job_id}").json()["reports"]
    assert reports["summary"] == "2 providers saw it and skipped it: 1 busy; 1 image not present"
    by_provider = {skip["provider"]: skip for skip in reports["skips"]}
    assert by_provider[provider.address.lower()]["kind"] == "image not present"
    assert by_provider[provider.address.lower()]["reason"] == SKIP_IMAGE["reason"]  # type: ignore[typeddict-item]
    assert by_provider[second.me.lower()]["kind"] == "busy"
    assert reports["energy"] == []


def test_a_report_signed_by_anyone_but_a_registered_provider_is_refused(
    cast: Cast, chain_settings: Callable[..., Settings]
) -> None:
    job_id = cast.requester.post_job(SPEC).job_id
    with TestClient(indexed(chain_settings())) as client:
        stranger = send(client, job_id, SKIP_BUSY, dev_account(STRANGER))
        assert stranger.status_code == 403
        assert "is not a registered provider" in stranger.json()["detail"]
        assert send(client, job_id, SKIP_BUSY, dev_account(VALIDATOR)).status_code == 403
        # Another key signing in the provider's name, and no signature at all.
        forged = send(
            client, job_id, SKIP_BUSY, dev_account(STRANGER), **{"X-Crowd-Address": dev_account(2).address}
        )
        assert forged.status_code == 401 and "not made by" in forged.json()["detail"]
        json_body = {"Content-Type": "application/json"}
        unsigned = client.post(report_path(job_id), content=report_body(SKIP_BUSY), headers=json_body)
        assert unsigned.status_code == 401
        # Signed over other bytes than those sent.
        body = report_body(SKIP_BUSY)
        headers = provider_report_headers(dev_account(2), 31337, job_id, body)
        other = report_body(SKIP_IMAGE)
        tampered = client.post(report_path(job_id), content=other, headers={**headers, **json_body})
        assert tampered.status_code == 401
        assert send(client, 999, SKIP_BUSY, dev_account(2)).status_code == 404

        assert client.get(f"/jobs/{job_id}").json()["reports"] == {"summary": None, "skips": [], "energy": []}


def test_reports_are_rate_limited_per_address(cast: Cast, chain_settings: Callable[..., Settings]) -> None:
    job_id = cast.requester.post_job(SPEC).job_id
    second = cast.provider.with_account(dev_account(SECOND_PROVIDER))
    second.register_provider(Capabilities(cpu_cores=2, memory_mib=2048), b"\x02" * 32)
    settings = chain_settings(report_rate_limit_burst=3, report_rate_limit_per_minute=1.0)
    with TestClient(indexed(settings)) as client:
        for _ in range(3):
            assert send(client, job_id, SKIP_BUSY, dev_account(2)).status_code == 200
        limited = send(client, job_id, SKIP_IMAGE, dev_account(2))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "rate limit" in limited.json()["detail"]
        assert send(client, job_id, SKIP_IMAGE, dev_account(SECOND_PROVIDER)).status_code == 200
        kinds = {s["provider"]: s["kind"] for s in client.get(f"/jobs/{job_id}").json()["reports"]["skips"]}
    assert kinds[dev_account(2).address.lower()] == "busy"  # the limited report was not stored


def test_energy_reported_shows_on_the_job_the_provider_and_stats(
    cast: Cast, chain_settings: Callable[..., Settings]
) -> None:
    job_id = cast.requester.post_job(SPEC).job_id
    cast.provider.claim_job(job_id)
    second = cast.provider.with_account(dev_account(SECOND_PROVIDER))
    second.register_provider(Capabilities(cpu_cores=2, memory_mib=2048), b"\x02" * 32)
    second.stake(tokens(200))
    address = cast.provider.me.lower()
    with TestClient(indexed(chain_settings())) as client:
        before = client.get("/stats").json()["energy"]
        assert before == {"kwh": 0.0, "gco2e": 0.0, "jobs": 0, "measured_jobs": 0, "reported_by": "provider"}
        refused = send(client, job_id, ENERGY, dev_account(SECOND_PROVIDER))
        assert refused.status_code == 403 and "never did" in refused.json()["detail"]
        assert send(client, job_id, ENERGY, dev_account(2)).status_code == 200

        energy = client.get(f"/jobs/{job_id}").json()["reports"]["energy"]
        provider = client.get(f"/providers/{address}").json()
        stats = client.get("/stats").json()["energy"]
    record = {k: v for k, v in ENERGY.items() if k != "type"}
    assert len(energy) == 1 and energy[0] | record == energy[0]
    assert energy[0]["provider"] == address and energy[0]["reported_by"] == "provider"
    assert energy[0]["job_id"] == job_id
    assert [e["job_id"] for e in provider["energy"]] == [job_id]
    assert provider["energy_totals"]["kwh"] == pytest.approx(0.0125)
    assert provider["energy_totals"]["gco2e"] == pytest.approx(2.5)
    assert stats["kwh"] == pytest.approx(0.0125) and stats["gco2e"] == pytest.approx(2.5)
    assert stats["jobs"] == 1 and stats["measured_jobs"] == 1


def test_reports_of_another_market_are_dropped_with_its_index(
    cast: Cast, chain_settings: Callable[..., Settings]
) -> None:
    """Job ids start over on a new market: its reports must not show on the new market's jobs."""
    from api.indexer.checkpoint import ensure_identity

    job_id = cast.requester.post_job(SPEC).job_id
    app = indexed(chain_settings())
    with TestClient(app) as client:
        assert send(client, job_id, SKIP_BUSY, dev_account(2)).status_code == 200
    with app.state.gateway.db.write() as conn:
        assert ensure_identity(conn, 31337, "0x" + "ee" * 20)
        assert conn.execute("SELECT COUNT(*) FROM skip_reports").fetchone()[0] == 0
