#!/usr/bin/env python3
"""What verifying an example costs: the provider's full training run against the validators' replays.

    PYTHONPATH=. .venv/bin/python examples/verification_cost.py digits_mlp [--threads 1] [--container]

Runs the example at its job.toml settings on the host, then replays as validators do: one sampled
segment alone in a process, and `samples_per_validator` segments plus the init and final checks in one
process. CPU seconds are user + sys of the child process (getrusage), interpreter start and the torch
import included. With --container the one-process replay also runs in the runtime image through the
Docker executor (the image must be built). Prints one JSON object; the ratio is
committee_size x (one validator's replay CPU) / (training CPU), which the design wants <= 0.10.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RUNTIME_IMAGE = "crowdcompute/runtime-cpu:torch2.13"


def run(job: Path, output: Path, threads: int, **env: str) -> dict[str, float]:
    """Run the job's train.py once; its wall and CPU seconds."""
    output.mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("CROWDCOMPUTE_")}
    environment = {
        **base,
        "PYTHONPATH": str(REPO),
        "TORCH_NUM_THREADS": str(threads),
        "CROWDCOMPUTE_INPUT_DIR": str(job),
        "CROWDCOMPUTE_OUTPUT_DIR": str(output),
        **env,
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "train.py"], cwd=job, env=environment, check=True, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def manifest_digests(provider: Path) -> list[str]:
    document = json.loads((provider / "checkpoints" / "manifest.json").read_text())
    return [entry["digest"] for entry in document["checkpoints"]]


def check(replay_file: Path, digests: list[str]) -> bool:
    """Whether every replayed digest matches the provider's manifest."""
    for entry in json.loads(replay_file.read_text())["replays"]:
        segment = entry["segment"]
        if segment == "init":
            ok = entry["digest"] == digests[0]
        elif segment == "final":
            ok = entry["digest"] == digests[-1] and entry["model_matches"]
        else:
            ok = entry["start_digest"] == digests[segment] and entry["digest"] == digests[segment + 1]
        if not ok:
            return False
    return True


def container_replay(job: Path, provider: Path, segments: str, scratch: Path) -> dict[str, Any]:
    """The one-process replay inside the runtime image; CPU seconds as the executor measures them."""
    import docker

    from jobs.executors import ExecutionId, ExecutionRequest, ImageRef
    from jobs.executors.docker import DockerExecutor

    staged = scratch / "input"
    shutil.copytree(job, staged)
    shutil.copytree(provider / "checkpoints", staged / "replay")
    shutil.copy(provider / "model.pt", staged / "replay")
    client = docker.from_env(timeout=600)
    executor = DockerExecutor(client, node_id="verification-cost")
    request = ExecutionRequest(
        execution_id=ExecutionId(f"verification-cost-{os.getpid()}"),
        job_id="verification-cost",
        image=ImageRef(RUNTIME_IMAGE, client.images.get(RUNTIME_IMAGE).id),
        argv=("python3", "train.py"),
        input_dir=staged,
        output_dir=scratch / "container-replay",
        env={
            "CROWDCOMPUTE_REPLAY_SEGMENTS": segments,
            "CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR": "/input/replay",
            "CROWDCOMPUTE_REPLAY_MODEL": "/input/replay/model.pt",
        },
        cpus=1.0,
        memory_mib=1024,
        timeout_s=600.0,
    )
    try:
        executor.start(request)
        result = executor.wait(request.execution_id)
    finally:
        executor.close()
        client.close()
    digests = manifest_digests(provider)
    return {
        "state": result.state.value,
        "wall_s": result.duration_s,
        "cpu_s": result.cpu_seconds,
        "digests_match": result.ok and check(scratch / "container-replay" / "replay.json", digests),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("example", help="a folder under examples/, e.g. digits_mlp")
    parser.add_argument("--threads", type=int, default=1, help="TORCH_NUM_THREADS for training")
    parser.add_argument("--container", action="store_true", help="also replay in the runtime image")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from sdk import job_schedule

    source = REPO / "examples" / args.example
    verification = tomllib.loads((source / "job.toml").read_text())["verification"]
    schedule = job_schedule(source)
    samples, committee = verification["samples_per_validator"], verification.get("committee_size", 3)
    with tempfile.TemporaryDirectory(prefix="verification-cost-") as folder:
        scratch = Path(folder)
        job = scratch / "job"
        shutil.copytree(source, job, ignore=shutil.ignore_patterns("__pycache__"))
        provider = scratch / "provider"
        training = run(job, provider, args.threads)
        digests = manifest_digests(provider)
        sampled = sorted(random.Random(1).sample(range(schedule.segments), samples))
        common = {
            "CROWDCOMPUTE_REPLAY_CHECKPOINT_DIR": str(provider / "checkpoints"),
            "CROWDCOMPUTE_REPLAY_MODEL": str(provider / "model.pt"),
        }
        one = run(job, scratch / "one", 1, CROWDCOMPUTE_REPLAY_SEGMENTS=str(sampled[0]), **common)
        segments = ",".join(["init", *map(str, sampled), "final"])
        batch = run(job, scratch / "batch", 1, CROWDCOMPUTE_REPLAY_SEGMENTS=segments, **common)
        report: dict[str, Any] = {
            "example": args.example,
            "threads": args.threads,
            "segments": schedule.segments,
            "checkpoint_interval": schedule.checkpoint_interval,
            "total_steps": schedule.total_steps,
            "training": training,
            "output_mib": round(sum(p.stat().st_size for p in provider.rglob("*") if p.is_file()) / 2**20, 1),
            "replay_one_segment": {**one, "digests_match": check(scratch / "one" / "replay.json", digests)},
            "replay_validator": {
                **batch,
                "segments": segments,
                "digests_match": check(scratch / "batch" / "replay.json", digests),
            },
            "committee_size": committee,
            "samples_per_validator": samples,
            "ratio_with_startup": round(committee * batch["cpu_s"] / training["cpu_s"], 3),
            "ratio_segment_compute": round(committee * samples / schedule.segments, 3),
            "load_average": os.getloadavg(),
        }
        if args.container:
            report["replay_validator_in_container"] = container_replay(job, provider, segments, scratch)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
