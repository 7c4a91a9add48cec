"""The provider's reports to a real gateway indexing the real anvil: why the node skips a job (once, and
again only when the reason changes), the energy of each job it ran with the grid intensity it was given,
and a gateway that is away never holds up or fails the node."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain import JobId, MarketClient, dev_account
from chain.anvil import AnvilProcess, free_port
from jobs.executors import ImageDigestMismatch, ImageRef, ImageUnavailable
from jobs.executors.noop import NoopExecutor
from jobs.matching import SkipKind, SkipReason
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.energy import EnergySettings
from provider_node.reporting import ProviderReporter
from provider_node.state import Phase
from tests.api.live_gateway import gateway_settings, serve
from tests.provider_node.provider_jobs import make_bundle, post_job


class ImagesExecutor(NoopExecutor):
    """Runs nothing, and has the images `resolve_image` is told about (as the Docker executor would)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.images: dict[str, str] = {}

    def resolve_image(self, image: ImageRef) -> str:
        found = self.images.get(image.name)
        if found is None:
            raise ImageUnavailable(f"image {image.name!r} is not present on this host")
        if found != image.digest:
            raise ImageDigestMismatch(image.name, image.digest, (found,))
        return found


@pytest.fixture
def gateway(tmp_path: Path, anvil: AnvilProcess, deployments_dir: Path, dev_chain: Any) -> Iterator[str]:
    """A gateway indexing the session's anvil."""
    from api.main import create_app

    settings = gateway_settings(
        tmp_path / "gateway",
        rpc_url=anvil.url,
        chain_id=anvil.chain_id,
        deployments_dir=deployments_dir,
        indexer_enabled=True,
    )
    with serve(create_app(settings)) as url:
        yield url


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def reports(gateway: str, job_id: JobId) -> dict[str, Any]:
    def indexed() -> bool:
        return httpx.get(f"{gateway}/jobs/{job_id}", trust_env=False).status_code == 200

    wait_until(indexed, what=f"the gateway to index job {job_id}")
    body: dict[str, Any] = httpx.get(f"{gateway}/jobs/{job_id}", trust_env=False).json()["reports"]
    return body


def skips_of(gateway: str, job_id: JobId) -> list[dict[str, Any]]:
    return list(reports(gateway, job_id)["skips"])


def test_the_node_reports_why_it_skips_and_reports_again_when_the_reason_changes(
    provider: MarketClient, requester: MarketClient, store: EmbeddedStore, gateway: str, tmp_path: Path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    executor = ImagesExecutor()
    config = NodeConfig(
        data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=gateway, account_refresh_s=0.0
    )
    node = ProviderNode(provider, store, executor, config)
    try:
        assert job_id in node.step().skipped
        wait_until(lambda: bool(skips_of(gateway, job_id)), what="the skip report")
        skip = skips_of(gateway, job_id)[0]
        assert skip["provider"] == provider.me.lower() and skip["kind"] == "image not present"
        assert "runtime image crowdcompute/test-python:latest pinned to sha256:" in skip["reason"]
        assert "is not on this node" in skip["reason"]
        assert reports(gateway, job_id)["summary"] == "1 provider saw it and skipped it: image not present"
        assert node.reporter is not None
        sent = node.reporter.sent

        node.step()  # the same reason: not sent again
        time.sleep(0.3)
        assert node.reporter.sent == sent

        executor.images["crowdcompute/test-python:latest"] = "sha256:" + "cd" * 32
        node.step()
        wait_until(
            lambda: skips_of(gateway, job_id)[0]["kind"] == "image digest differs", what="the new reason"
        )
        assert node.reporter.sent == sent + 1
    finally:
        node.close()


def test_a_finished_jobs_energy_reaches_the_gateway_with_the_grid_intensity_given(
    provider: MarketClient, requester: MarketClient, store: EmbeddedStore, gateway: str, tmp_path: Path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    config = NodeConfig(data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=gateway)
    energy = EnergySettings(grid_gco2e_per_kwh=55.0, watts_per_core=10.0)
    node = ProviderNode(provider, store, NoopExecutor(cpu_seconds=36.0), config, energy=energy)
    try:
        assert node.step().claimed == [job_id]
        assert node.wait_idle(30)
        record = node.state.get(job_id)
        assert record is not None and record.phase is Phase.SUBMITTED
        wait_until(lambda: bool(reports(gateway, job_id)["energy"]), what="the energy report")
    finally:
        node.close()
    [reported] = reports(gateway, job_id)["energy"]
    assert reported["provider"] == provider.me.lower() and reported["reported_by"] == "provider"
    assert reported["grid_gco2e_per_kwh"] == 55.0
    kwh = 36.0 * 10.0 / 3.6e6  # no RAPL counter readable here: estimated from the CPU seconds
    assert reported["method"] == record.result["energy"]["method"]  # type: ignore[index]
    if reported["method"] == "estimate":
        assert reported["measured"] is False and reported["kwh"] == pytest.approx(kwh)
    assert reported["gco2e"] == pytest.approx(reported["kwh"] * 55.0)
    provider_page = httpx.get(f"{gateway}/providers/{provider.me}", trust_env=False).json()
    assert [e["job_id"] for e in provider_page["energy"]] == [job_id]
    stats = httpx.get(f"{gateway}/stats", trust_env=False).json()["energy"]
    assert stats["jobs"] == 1 and stats["kwh"] == pytest.approx(reported["kwh"])


def test_a_reason_is_sent_once_and_again_only_when_it_changes(
    provider: MarketClient, requester: MarketClient, store: EmbeddedStore, gateway: str, tmp_path: Path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    reporter = ProviderReporter(gateway, dev_account(2), 31337, retry_s=0.05)
    try:
        free = "not enough free stake for the collateral: 5 CROWD needed, {} CROWD free"
        reporter.skipped(job_id, SkipReason(free.format(1), SkipKind.COLLATERAL))
        reporter.skipped(job_id, SkipReason(free.format(2), SkipKind.COLLATERAL))  # only numbers moved
        wait_until(lambda: reporter.sent == 1 and reporter.idle(), what="one report sent")
        time.sleep(0.2)
        assert reporter.sent == 1
        assert skips_of(gateway, job_id)[0]["kind"] == "not enough free stake"

        reporter.skipped(job_id, SkipReason("at capacity: 1 of 1 job slots busy", SkipKind.BUSY))
        wait_until(lambda: reporter.sent == 2, what="the changed reason")
        assert skips_of(gateway, job_id)[0]["kind"] == "busy"
        reporter.forget(job_id)  # the job was claimed by someone else, then reopened
        reporter.skipped(job_id, SkipReason("at capacity: 1 of 1 job slots busy", SkipKind.BUSY))
        wait_until(lambda: reporter.sent == 3, what="the reason of the reopened job")
    finally:
        reporter.close()


def test_a_gateway_that_is_away_never_holds_up_the_node(
    provider: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    skipped = post_job(requester, make_bundle(store, tmp_path / "big", memory_mib=4096))
    taken = post_job(requester, make_bundle(store, tmp_path / "job"))
    nowhere = f"http://127.0.0.1:{free_port()}"
    config = NodeConfig(data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=nowhere)
    node = ProviderNode(provider, store, NoopExecutor(cpu_seconds=1.0), config)
    try:
        started = time.monotonic()
        report = node.step()
        assert report.claimed == [taken] and "too little memory" in report.skipped[skipped]
        assert time.monotonic() - started < 5
        assert node.reporter is not None
        wait_until(lambda: node.reporter is not None and node.reporter.failures > 0, what="a failed send")
        assert node.reporter.sent == 0 and not node.reporter.idle()  # kept, to be sent when it is back
    finally:
        closing = time.monotonic()
        node.close()
        assert time.monotonic() - closing < 15


def test_energy_that_could_not_be_reported_is_sent_at_the_next_start(
    provider: MarketClient, requester: MarketClient, store: EmbeddedStore, gateway: str, tmp_path: Path
) -> None:
    job_id = post_job(requester, make_bundle(store, tmp_path / "job"))
    offline = NodeConfig(data_dir=tmp_path / "node", poll_interval_s=0.05)  # ran with no gateway at all
    node = ProviderNode(provider, store, NoopExecutor(cpu_seconds=5.0), offline)
    try:
        assert node.step().claimed == [job_id]
        assert node.wait_idle(30)
    finally:
        node.close()
    assert reports(gateway, job_id)["energy"] == []

    online = NodeConfig(data_dir=tmp_path / "node", poll_interval_s=0.05, gateway_url=gateway)
    restarted = ProviderNode(provider, store, NoopExecutor(), online)
    try:
        restarted.step()
        wait_until(
            lambda: bool(reports(gateway, job_id)["energy"]), what="the energy report after the restart"
        )
    finally:
        restarted.close()
    [reported] = reports(gateway, job_id)["energy"]
    assert reported["provider"] == provider.me.lower() and reported["grid_gco2e_per_kwh"] == 400.0
