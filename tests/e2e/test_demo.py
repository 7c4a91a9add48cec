"""The whole system, headless: `crowdcompute demo --exit` as a user runs it, honest and cheating.

Each test runs the real command in a subprocess: anvil, the gateway, the providers and three validators
start as separate processes with their own keys, the digits job (a short schedule) runs in Docker, the
validators re-execute samples in Docker and vote on chain. The tests check the final JSON line against
the chain's own story, and that nothing keeps running afterwards: no process, no listening port, no
job container.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from chain import DEV_ADDRESSES
from crowdcompute.demo.processes import pid_alive
from crowdcompute.demo.stack import CHEATER_ACCOUNT, PROVIDER_ACCOUNTS, crowdcompute_argv

# The demo starts its own anvil and runs the job in Docker.
pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.docker]

# A short schedule keeps each run near 45 s on two busy cores; still 21 checkpoints to sample from.
SEGMENTS, INTERVAL = 20, 100
RUN_TIMEOUT_S = 240


def _run_demo(root: Path, *extra: str) -> tuple[dict[str, Any], str, float]:
    """Run `crowdcompute demo --exit ...`; its final JSON line, its whole output and its wall time."""
    argv = [*crowdcompute_argv(), "demo", "--exit", "--keep", "--root", str(root)]
    argv += ["--segments", str(SEGMENTS), "--interval", str(INTERVAL), "--timeout", "180", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDCOMPUTE_")}
    began = time.monotonic()
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env)
    wall = time.monotonic() - began
    output = completed.stdout + completed.stderr
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line from the demo (exit {completed.returncode}):\n{output[-4000:]}"
    report = json.loads(lines[-1])
    assert completed.returncode == 0, f"demo exited {completed.returncode}: {report}\n{output[-4000:]}"
    return report, output, wall


def _assert_nothing_left(root: Path, report: dict[str, Any]) -> None:
    """No process runs from the demo's folder, its ports are closed, anvil and job containers are gone."""
    leftovers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not pid_alive(int(entry.name)):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline:
            leftovers.append(f"{entry.name}: {cmdline}")
    assert not leftovers, f"processes of the demo still run: {leftovers}"
    devnet = json.loads(_json_in((root / "logs" / "devnet-up.log").read_text()))
    assert not pid_alive(int(devnet["pid"])), f"anvil (pid {devnet['pid']}) still runs"
    for url in (report["rpc_url"], report["gateway_url"]):
        parsed = urlparse(url)
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((parsed.hostname, parsed.port)) != 0, f"{url} still answers"
    import docker

    client = docker.from_env()
    try:
        ours = [
            c.name
            for c in client.containers.list(all=True, filters={"label": "crowdcompute.node"})
            if any(str(m.get("Source", "")).startswith(str(root)) for m in c.attrs.get("Mounts") or [])
        ]
    finally:
        client.close()
    assert not ours, f"job containers of the demo are left: {ours}"


def _json_in(text: str) -> str:
    start = text.index("{")
    return text[start : text.rindex("}") + 1]


def test_demo_exit_accepts_a_verified_job_and_leaves_nothing_running(
    runtime_image: str, tmp_path: Path
) -> None:
    root = tmp_path / "demo"
    report, output, wall = _run_demo(root)
    print(f"demo --exit: {wall:.1f} s wall; {json.dumps(report)}", file=sys.stderr)

    assert report["state"] == "Accepted"
    assert report["votes"]["accepts"] >= 2 and report["votes"]["rejects"] == 0
    assert report["provider"] in {DEV_ADDRESSES[i] for i in PROVIDER_ACCOUNTS}
    assert report["accuracy"] > 0.9  # the digits MLP after 2,000 steps; a broken model scores ~0.1
    kinds = report["gas_by_kind"]
    # Votes are signed off chain and revealed inside the finalize transaction: no vote transactions.
    assert {"post", "claim", "submit", "finalize"} == set(kinds)
    assert len(report["committee"]) == 3 and set(report["committee"]) <= {
        "validator-1",
        "validator-2",
        "validator-3",
    }
    assert "committee drawn by stake" in output
    assert report["gas_total"] == sum(kinds.values())
    assert 0 < report["reexec_ratio"] < 5
    assert report["energy_kwh"] is not None and report["energy_kwh"] > 0
    assert int(report["paid"]) > 0 and report["schedule"]["segments"] == SEGMENTS
    assert "shortened for the demo" in output
    # The job ran the pinned copy: this machine's runtime image and the shortened schedule.
    pinned = (root / "jobs" / "digits_mlp" / "job.toml").read_text()
    assert f'digest = "{runtime_image}"' in pinned
    assert f"segments = {SEGMENTS}" in pinned and f"checkpoint_interval = {INTERVAL}" in pinned
    result = root / "results" / f"job-{report['job_id']}"
    assert (result / "model.pt").is_file()
    manifest = json.loads((result / "checkpoints" / "manifest.json").read_text())
    assert len(manifest["checkpoints"]) == SEGMENTS + 1
    _assert_nothing_left(root, report)


def test_demo_cheat_is_rejected_and_slashed(runtime_image: str, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    # A rejection waits out the voting window and the appeal window after it: 40 blocks each, not 75.
    report, output, wall = _run_demo(root, "--cheat", "--verify-blocks", "40")
    print(f"demo --exit --cheat: {wall:.1f} s wall; {json.dumps(report)}", file=sys.stderr)

    assert report["state"] == "Rejected" and report["verify_blocks"] == 40
    assert report["provider"] == DEV_ADDRESSES[CHEATER_ACCOUNT]
    assert report["votes"]["rejects"] >= 2 and report["votes"]["accepts"] == 0
    assert len(report["committee"]) == 3
    assert int(report["slashed"]) > 0 and int(report["paid"]) == 0
    assert report["accuracy"] is None
    assert "forged" in (root / "logs" / "cheater-1.log").read_text()
    assert "rejects (segment" in output
    _assert_nothing_left(root, report)
