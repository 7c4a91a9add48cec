"""`job submit` checks the job against the providers registered on the real chain and the images the
network runs before any token moves; `--force` (or a confirmation) posts anyway. The examples pin
runtime/image.lock's id and are posted as written where the network runs it; where it runs another id
(the gateway's, else this machine's build) a pinned copy is posted with a warning. The old placeholder
image id is pinned the same way or refused with the command that fixes it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from chain import DEV_PRIVATE_KEYS, Capabilities, MarketClient, dev_account, tokens
from chain.anvil import AnvilProcess
from crowdcompute.job_cli import job_app
from crowdcompute.requester import NoProviderCanRun, submit_job
from jobs.bundle import read_job_manifest
from jobs.manifest.pinning import PLACEHOLDER_DIGEST, locked_runtime, pin_runtime_text
from jobs.store import EmbeddedStore
from tests.api.live_gateway import gateway_settings, serve
from tests.cli_support.json_cli import connection_args, json_cli
from tests.requester.requester_jobs import FAKE_DIGEST, write_job

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUNTIME_IMAGE = "crowdcompute/runtime-cpu:torch2.13"
RUNTIME_ID = "sha256:" + "5e" * 32
LOCK = locked_runtime()
assert LOCK is not None and LOCK[0] == RUNTIME_IMAGE, "runtime/image.lock names the runtime image"
LOCKED_ID = LOCK[1]
TERABYTE_MIB = 1_048_576
REQUESTER_INDEX, PROVIDER_INDEX = 1, 2
Cli = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(anvil: AnvilProcess, deployments_dir: Path, tmp_path: Path, market: MarketClient) -> Cli:
    options = connection_args(anvil.url, deployments_dir, tmp_path / "no-devnet")
    env = {"CROWDCOMPUTE_GATEWAY_URL": None, "CROWDCOMPUTE_PRIVATE_KEY": DEV_PRIVATE_KEYS[REQUESTER_INDEX]}
    return json_cli(job_app, options, env)


@pytest.fixture
def small_provider(market: MarketClient) -> MarketClient:
    """Dev account 2 as the one provider: 4 CPU cores and 24,105 MiB of memory, 1 CROWD/h, staked."""
    client = market.with_account(dev_account(PROVIDER_INDEX))
    client.register_provider(
        Capabilities(cpu_cores=4, memory_mib=24_105, price_per_hour=tokens(1)), b"\x01" * 32
    )
    client.stake(tokens(200))
    return client


@pytest.fixture
def advertising_gateway(tmp_path: Path, anvil: AnvilProcess, deployments_dir: Path) -> Iterator[str]:
    """A real gateway that advertises RUNTIME_ID as the network's runtime image."""
    from api.main import create_app

    settings: Settings = gateway_settings(
        tmp_path / "gateway",
        rpc_url=anvil.url,
        chain_id=anvil.chain_id,
        deployments_dir=deployments_dir,
        runtime_images={RUNTIME_IMAGE: RUNTIME_ID},
    )
    with serve(create_app(settings)) as url:
        yield url


def needing_memory(folder: Path, memory_mib: int) -> Path:
    job = write_job(folder)
    manifest = job / "job.toml"
    manifest.write_text(manifest.read_text().replace("memory_mib = 256", f"memory_mib = {memory_mib}"))
    return job


def test_a_job_asking_more_memory_than_any_provider_is_refused_before_any_token_moves(
    cli: Cli, market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_dir = needing_memory(tmp_path / "huge", TERABYTE_MIB)
    requester = dev_account(REQUESTER_INDEX).address
    balance, first_free = market.token.balance_of(requester), market.next_job_id()

    refused = cli("submit", str(job_dir), "--store-dir", str(store.root), ok=False)
    words = "no registered provider offers 1,048,576 MiB of memory; the largest offers 24,105"
    assert refused["error"] == "NoProviderCanRun" and words in refused["message"]
    assert refused["reasons"] == [words]
    assert "--force" in refused["message"] and "no tokens moved" in refused["message"]
    assert market.token.balance_of(requester) == balance and market.next_job_id() == first_free
    assert store.pins() == []  # nothing stored either

    forced = cli("submit", str(job_dir), "--store-dir", str(store.root), "--force")
    assert forced["state"] == "Open" and forced["forced"] is True and forced["warnings"] == [words]
    assert market.job(forced["jobId"]).job.spec.memory_mib == TERABYTE_MIB
    assert market.token.balance_of(requester) == balance - int(forced["escrow"])


def test_a_confirmation_posts_anyway_and_a_refusal_posts_nothing(
    market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    requester = market.with_account(dev_account(REQUESTER_INDEX))
    job_dir = write_job(tmp_path / "cheap", timeout_s=36_000)  # 10 CROWD over 10 h: 1 CROWD/h is the floor
    asked: list[list[str]] = []

    def agree(reasons: list[str]) -> bool:
        asked.append(reasons)
        return True

    cheap = submit_job(requester, job_dir, store=store, budget=tokens(5), confirm=agree)
    price = "it pays 0.5 CROWD per hour of its run timeout (budget 5 CROWD over 36,000 s)"
    assert len(asked) == 1 and price in asked[0][0] and "raise the budget to at least 10 CROWD" in asked[0][0]
    assert cheap.warnings == tuple(asked[0]) and market.job(cheap.job_id).job.spec.budget == tokens(5)

    first_free = market.next_job_id()
    with pytest.raises(NoProviderCanRun) as caught:
        submit_job(requester, job_dir, store=store, budget=tokens(5), confirm=lambda reasons: False)
    assert price in str(caught.value) and market.next_job_id() == first_free
    assert submit_job(requester, job_dir, store=store, budget=tokens(10)).warnings == ()


def test_no_registered_provider_at_all_is_a_reason(
    cli: Cli, market: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    refused = cli("submit", str(write_job(tmp_path / "job")), "--store-dir", str(store.root), ok=False)
    assert refused["reasons"] == [
        "no provider is registered on this market yet: the job would stay Open until one registers"
    ]


def test_a_job_pinned_to_an_image_the_network_does_not_run_is_refused(
    cli: Cli, market: MarketClient, small_provider: MarketClient, advertising_gateway: str, tmp_path: Path
) -> None:
    first_free = market.next_job_id()
    refused = cli("submit", str(write_job(tmp_path / "job")), "--gateway", advertising_gateway, ok=False)
    assert refused["reasons"] == [
        f"job.toml pins {RUNTIME_IMAGE} to {FAKE_DIGEST}, but the network's nodes run {RUNTIME_ID}: no "
        f"provider has the pinned image; set [runtime] digest to {RUNTIME_ID}"
    ]
    assert market.next_job_id() == first_free


def test_an_example_is_pinned_to_the_image_the_gateway_advertises_where_it_differs_from_the_lock(
    cli: Cli, market: MarketClient, small_provider: MarketClient, advertising_gateway: str
) -> None:
    posted = cli("submit", str(EXAMPLES / "digits_mlp"), "--gateway", advertising_gateway)
    assert posted["pinnedTo"] == RUNTIME_ID and posted["warnings"] == []
    assert posted["escrow"] == str(tokens("13.2"))  # 10 budget + 0.2 protocol fee + 3 validators x 1 fee
    bundle = httpx.get(
        f"{advertising_gateway}/bundles/{posted['bundleCid']}/manifest", trust_env=False
    ).json()
    assert bundle["manifest"]["runtime"]["digest"] == RUNTIME_ID
    assert read_job_manifest(EXAMPLES / "digits_mlp").runtime.digest == LOCKED_ID  # a copy was pinned


def test_an_example_is_pinned_to_this_machines_image_with_a_warning_where_its_build_differs_from_the_lock(
    market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    requester = market.with_account(dev_account(REQUESTER_INDEX))
    shutil.copytree(EXAMPLES / "lstm_series", tmp_path / "lstm")
    asked: list[str] = []

    def local_image_id(name: str) -> str:
        asked.append(name)
        return RUNTIME_ID

    progress: list[str] = []
    job = submit_job(
        requester, tmp_path / "lstm", store=store, local_image_id=local_image_id, on_progress=progress.append
    )
    assert asked == [RUNTIME_IMAGE] and job.pinned_to == RUNTIME_ID
    assert progress[0].startswith(f"warning: job.toml pins {RUNTIME_IMAGE} to runtime/image.lock's id")
    assert f"network here runs {RUNTIME_ID} (from this machine's Docker engine" in progress[0]
    stored = store.read_bytes(job.bundle_cid)
    assert f'digest = "{RUNTIME_ID}"'.encode() in stored and LOCKED_ID.encode() not in stored


@pytest.mark.parametrize("engine", ["runs the locked id", "has no image"])
def test_an_example_is_posted_as_written_where_this_machine_runs_the_locked_id_or_knows_none(
    market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path, engine: str
) -> None:
    requester = market.with_account(dev_account(REQUESTER_INDEX))

    def local_image_id(name: str) -> str:
        if engine == "has no image":
            raise LookupError(f"image {name!r} is not present in the local Docker engine")
        return LOCKED_ID

    progress: list[str] = []
    job = submit_job(
        requester,
        EXAMPLES / "lstm_series",
        store=store,
        local_image_id=local_image_id,
        on_progress=progress.append,
    )
    assert job.pinned_to is None and not any("pinned" in line for line in progress)
    assert f'digest = "{LOCKED_ID}"'.encode() in store.read_bytes(job.bundle_cid)


def test_a_placeholder_job_is_pinned_to_this_machines_runtime_image(
    market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    requester = market.with_account(dev_account(REQUESTER_INDEX))
    job_dir = placeholder_copy(EXAMPLES / "lstm_series", tmp_path / "lstm")
    progress: list[str] = []
    job = submit_job(
        requester, job_dir, store=store, local_image_id=lambda name: RUNTIME_ID, on_progress=progress.append
    )
    assert job.pinned_to == RUNTIME_ID
    assert f"pinned {RUNTIME_IMAGE} to {RUNTIME_ID} (this machine's Docker engine)" in progress[0]
    stored = store.read_bytes(job.bundle_cid)
    assert f'digest = "{RUNTIME_ID}"'.encode() in stored and PLACEHOLDER_DIGEST.encode() not in stored


def placeholder_copy(example: Path, dest: Path) -> Path:
    """A copy of `example` pinned to the placeholder id jobs carried before the image lock."""
    shutil.copytree(example, dest)
    manifest = dest / "job.toml"
    manifest.write_text(pin_runtime_text(manifest.read_text(), PLACEHOLDER_DIGEST))
    return dest


def test_a_placeholder_job_without_a_known_image_is_refused_with_the_command_that_fixes_it(
    cli: Cli, market: MarketClient, small_provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    requester = dev_account(REQUESTER_INDEX).address
    balance, first_free = market.token.balance_of(requester), market.next_job_id()
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    refused = cli(
        "submit",
        str(placeholder_copy(EXAMPLES / "digits_mlp", tmp_path / "digits")),
        "--store-dir",
        str(store.root),
        "--force",
        ok=False,
        env=no_engine,
    )
    assert refused["error"] == "UnpinnedRuntime"
    assert refused["message"].endswith("`make runtime-image`")
    assert "placeholder id" in refused["message"] and RUNTIME_IMAGE in refused["message"]
    assert market.token.balance_of(requester) == balance and market.next_job_id() == first_free
    assert store.pins() == []
