"""The dApp's whole requester path in headless Chromium against a real stack (issue 6's browser test).

`DemoStack` starts anvil with the market, the gateway (serving the built dApp and its `GET /config`), one
provider and three validators, each its own process. `frontend/e2e/fullFlow.mjs` then drives Debian's
Chromium with the dApp's local test wallet (anvil's dev account 1; `WALLET=injected` drives an injected
EIP-1193 wallet instead): it picks a job folder through
the folder picker, posts it, follows the job page to Accepted, downloads the result and visits the main
pages, saving screenshots to build/e2e-screenshots/. This test checks what the script reports against
the gateway's index and the downloaded bytes' own CID.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chain import DEV_ADDRESSES, REPO_ROOT
from crowdcompute.demo.example_jobs import RUNTIME_IMAGE
from crowdcompute.demo.stack import REQUESTER_ACCOUNT, DemoStack
from jobs.cid import parse_cid
from jobs.store.importer import import_stream

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.docker, pytest.mark.browser]

FRONTEND = REPO_ROOT / "frontend"
SCREENSHOTS = REPO_ROOT / "build" / "e2e-screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
EXPECTED_SCREENSHOTS = (
    "19-post-example.png",
    "20-post-form.png",
    "21-job-running.png",
    "22-job-accepted.png",
    "23-jobs.png",
    "24-provider.png",
    "25-leaderboard.png",
)
# A short digits schedule: 6 segments of 20 steps trains in seconds, still enough for a loss curve.
INTERVAL, SEGMENTS = 20, 6
FLOW_TIMEOUT_S = 300


def _require(condition: bool, message: str) -> None:
    """Missing prerequisites fail (never skip): `make test` installs all of them first."""
    if not condition:
        pytest.fail(message, pytrace=False)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    _require(
        (FRONTEND / "dist" / "index.html").is_file(),
        "frontend/dist is missing: run `make setup` (it builds the dApp)",
    )
    _require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM}: run `make chromium` (Debian's chromium)")
    _require(
        shutil.which("node") is not None, "node is not on PATH: install Node >= 20 (`make setup` says how)"
    )
    _require(
        (FRONTEND / "node_modules" / "playwright-core").is_dir(),
        "frontend/node_modules lacks playwright-core: run `make setup`",
    )
    _ensure_runtime_image()
    with DemoStack(tmp_path / "stack", providers=1, validators=3) as started:
        yield started


def _ensure_runtime_image() -> None:
    """The CPU torch runtime image the job is pinned to, built on this machine when missing."""
    import docker

    from tests.jobs.executor_images import build_runtime_image, ensure_docker

    ensure_docker()
    client = docker.from_env(timeout=300)
    try:
        build_runtime_image(client)
    finally:
        client.close()


def _log_tails(stack: DemoStack, lines: int = 15) -> str:
    """The last lines of every process log of the stack, to say why a flow failed."""
    out = []
    for path in sorted(Path(stack.supervisor.logs).glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {path.name}\n" + "\n".join(tail))
    return "\n".join(out)


def _run_flow(
    stack: DemoStack, job_dir: Path, download_dir: Path, script: str = "e2e/fullFlow.mjs"
) -> dict[str, Any]:
    env = {
        **os.environ,
        "GATEWAY_URL": stack.gateway_url,
        "RPC_URL": stack.rpc_url,
        "JOB_DIR": str(job_dir),
        "DOWNLOAD_DIR": str(download_dir),
        "ACCOUNT": DEV_ADDRESSES[REQUESTER_ACCOUNT],
        "RUNTIME_IMAGE_ID": stack.runtime_image_id,
        "ACCEPT_TIMEOUT_S": "240",
        # The voting window, and the appeal window after it, that the job waits out before it settles:
        # 30 blocks (1 s each) is ample for three validators replaying a short job.
        "VERIFY_BLOCKS": "30",
        "CHROMIUM": str(CHROMIUM),
    }
    try:
        done = subprocess.run(
            ["node", script],
            cwd=FRONTEND,
            env=env,
            capture_output=True,
            text=True,
            timeout=FLOW_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"{script} ran past {FLOW_TIMEOUT_S} s\n{output}\n{_log_tails(stack)}")
    if done.returncode != 0:
        pytest.fail(
            f"{script} failed (exit {done.returncode}); screenshots in {SCREENSHOTS}\n"
            f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}\n{_log_tails(stack)}"
        )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_requester_posts_follows_and_downloads_a_job_in_the_browser(
    stack: DemoStack, tmp_path: Path
) -> None:
    started = time.time()
    # The gateway tells the dApp which runtime image id this network's nodes run (example templates
    # carry runtime/image.lock's id); fullFlow.mjs checks that a picked example pins this id.
    config = requests.get(f"{stack.gateway_url}/config", timeout=10).json()
    assert config["runtime_images"] == {RUNTIME_IMAGE: stack.runtime_image_id}
    assert (config["chain_id"], config["market"]) == (stack.chain_id, stack.deployment.market)
    job_dir = stack.pinned_example(
        "digits_mlp", tmp_path / "digits-job", interval=INTERVAL, segments=SEGMENTS
    )
    report = _run_flow(stack, job_dir, tmp_path / "downloads")

    # The script saw the job through to acceptance, with votes that carry their evidence.
    assert report["states"][-1] == "Accepted", report["states"]
    accepts = [v for v in report["votes"] if v["vote"] == "accept" and v["evidence"] == "digests match"]
    assert len(accepts) >= 2, report["votes"]
    revealed = [v for v in report["votes"] if v["vote"] in ("accept", "reject")]
    assert all(0 <= v["segment"] < SEGMENTS for v in revealed), report["votes"]
    assert report["logLines"] > 0 and report["runningScreenshot"] is True

    # The gateway's index (read here, not through the page) agrees: the browser's wallet posted it, the
    # stack's provider ran it, and the committee accepted the result the page showed.
    job = requests.get(f"{stack.gateway_url}/jobs/{report['jobId']}", timeout=10).json()
    assert job["state"] == "Accepted"
    assert job["requester"].lower() == DEV_ADDRESSES[REQUESTER_ACCOUNT].lower()
    assert job["provider"].lower() == stack.providers[0].address.lower() == report["provider"]
    assert job["result_cid"] == report["resultCid"]
    assert job["checkpoint_count"] == SEGMENTS + 1

    # The downloaded file is exactly the content the provider committed on chain: its own CID, computed
    # here from the bytes, is the result CID, whose digest is what ResultSubmitted carried.
    download = Path(report["download"]["path"])
    data = download.read_bytes()
    assert len(data) == report["download"]["bytes"] > 0
    cid = import_stream(io.BytesIO(data)).cid
    assert str(cid) == report["resultCid"]
    submitted = next(event for event in job["timeline"] if event["event"] == "ResultSubmitted")
    digest, _codec = parse_cid(report["resultCid"]).to_chain()
    assert submitted["args"]["resultDigest"].removeprefix("0x") == digest.hex()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = {member.name.removeprefix("./") for member in archive.getmembers() if member.isfile()}
    assert "model.pt" in names and "checkpoints/manifest.json" in names
    assert sorted(names) == sorted(report["download"]["entries"])

    # Screenshots of the main pages, written by this run.
    shots = {Path(p).name: Path(p) for p in report["screenshots"]}
    assert set(EXPECTED_SCREENSHOTS) <= set(shots)
    for name in EXPECTED_SCREENSHOTS:
        path = SCREENSHOTS / name
        assert shots[name] == path and path.stat().st_mtime >= started - 1
        head = path.read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000, name


# Confidential jobs (docs/confidential.md): the dApp seals the bundle, its tab releases the key to the
# claimant, and the download opens the sealed result (frontend/src/lib/sealing, e2e/confidentialFlow.mjs).
def test_a_requester_posts_a_confidential_job_and_opens_its_result_in_the_browser(
    stack: DemoStack, tmp_path: Path
) -> None:
    job_dir = stack.pinned_example(
        "digits_mlp", tmp_path / "digits-job", interval=INTERVAL, segments=SEGMENTS
    )
    report = _run_flow(stack, job_dir, tmp_path / "downloads", script="e2e/confidentialFlow.mjs")
    assert report["states"][-1] == "Accepted", report["states"]

    # The index holds only the sealed bundle: its public manifest names the requester, and the stored
    # bundle is the two-member tar (public job.toml and sealed.payload).
    job = requests.get(f"{stack.gateway_url}/jobs/{report['jobId']}", timeout=10).json()
    assert job["requester"].lower() == DEV_ADDRESSES[REQUESTER_ACCOUNT].lower()
    stored = requests.get(f"{stack.gateway_url}/ipfs/{job['bundle_cid']}", timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(stored)) as archive:
        assert sorted(m.name for m in archive.getmembers()) == ["job.toml", "sealed.payload"]
    code = (job_dir / "train.py").read_bytes()  # its name is public (the entrypoint), its text is not
    pieces = {code[i : i + 48] for i in range(0, len(code) - 48, max(1, len(code) // 16))}
    assert pieces and not [piece for piece in pieces if piece in stored]

    # The tab released the key to the claimant, and the result it opened holds the model in the clear,
    # while the stored result is sealed (a SEALED marker, no plaintext model).
    assert report["released"].lower().startswith(f"key released to {job['provider'].lower()} at block")
    entries = report["download"]["entries"]
    assert "model.pt" in entries and "SEALED" not in entries
    result = requests.get(f"{stack.gateway_url}/ipfs/{job['result_cid']}", timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(result)) as archive:
        names = {m.name for m in archive.getmembers() if m.isfile()}
        assert "SEALED" in names
        model = archive.extractfile("model.pt")
        assert model is not None and model.read(8) == b"CCSEAL1\n"
