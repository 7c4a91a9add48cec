"""The GPU tolerance mode of verification, on CPU: a provider whose checkpoints carry bounded numeric noise
(standing in for a GPU's nondeterministic kernels) is accepted within the job's `verification.tolerance`
and rejected beyond it; without a tolerance the same small noise is rejected.

Where the noise goes: into the provider's run, on the host, never into sdk/ or the validator. A GPU
provider's checkpoints differ a little from what any other machine recomputes; a validator replays each
sampled segment exactly (CPU, deterministic) from the committed checkpoint i and measures the distance
to the committed checkpoint i + 1. Adding noise of relative size `eps` to the weights at the end of
every segment of the provider's run gives exactly that distance, so the replay, its distance and the
verdict run unchanged: the real validator `Verifier`, a real replay container in the runtime image, the
real content store. The noise is seeded: the figures are the same on every run.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from chain import Job, JobId, JobSpec, VerificationMode
from jobs.bundle import BundleCache, pack_directory, pack_output
from jobs.commitments import checkpoint_commitment
from jobs.executors import ImageRef
from jobs.executors.docker import DockerExecutor
from jobs.store import EmbeddedStore
from sdk import LiveState, TrainingLoop
from tests.validator.cheaters import host_torch, load_training_script
from validator.verify import Submission, Verifier

INTERVAL, SEGMENTS, SAMPLES = 20, 6, 2
TOLERANCE = 1e-3
ME = "0x" + "77" * 20


@dataclasses.dataclass(frozen=True)
class NoisyLoop(TrainingLoop):
    """The job's own loop, with the weights moved by noise of relative L2 size `eps` at each segment's end."""

    eps: float = 0.0
    seed: int = 7

    def run_until(self, live: LiveState, end: int) -> list[float]:
        losses = super().run_until(live, end)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + end)
        with torch.no_grad():
            for parameter in live.model.parameters():
                scale = self.eps * float(parameter.norm()) / parameter.numel() ** 0.5
                noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
                parameter.add_(noise * scale)
        return losses


@pytest.fixture(scope="module")
def executor(docker_client: Any) -> Iterator[DockerExecutor]:
    node = f"pytest-tolerance-{uuid.uuid4().hex[:8]}"
    executor = DockerExecutor(docker_client, node_id=node)
    yield executor
    executor.close()
    for container in docker_client.containers.list(all=True, filters={"label": f"crowdcompute.node={node}"}):
        container.remove(force=True)


def job_folder(root: Path, image: ImageRef, tolerance: float | None) -> Path:
    from tests.sdk.sdk_helpers import example_copy  # imports torch

    folder = example_copy("digits_mlp", root / "job", interval=INTERVAL, segments=SEGMENTS)
    manifest = folder / "job.toml"
    text = re.sub(r'(?m)^digest = "[^"]*"', f'digest = "{image.digest}"', manifest.read_text())
    text = re.sub(r"(?m)^samples_per_validator = \d+", f"samples_per_validator = {SAMPLES}", text)
    if tolerance is not None:
        text = text.replace('mode = "segments"', f'mode = "segments"\ntolerance = {tolerance}', 1)
    manifest.write_text(text)
    return folder


def verify_noisy(
    root: Path,
    store: EmbeddedStore,
    executor: DockerExecutor,
    image: ImageRef,
    eps: float,
    tolerance: float | None,
    job_id: int,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train on the host with noise `eps`, publish the result, verify it as job `job_id` (one replay
    container each); the verdict and the segments' replays."""
    job = job_folder(root, image, tolerance)
    buffer = io.BytesIO()
    pack_directory(job, buffer)
    bundle = store.add_bytes(buffer.getvalue())
    script = load_training_script(job)
    honest: TrainingLoop = dataclasses.replace(script.build_loop(job), threads=1)
    values = {field.name: getattr(honest, field.name) for field in dataclasses.fields(honest)}
    out = root / "provider" / "output"
    out.mkdir(parents=True)
    with host_torch():
        NoisyLoop(**values, eps=eps).train(out, resume=False)
    commitment = checkpoint_commitment(out)
    result = store.add_file(pack_output(out, root / "provider" / "result.tar").path, pin=True)
    digest, codec = bundle.to_chain()
    spec = JobSpec(
        run_timeout=600,
        mode=VerificationMode.SEGMENTS,
        committee_size=1,
        samples_per_validator=SAMPLES,
        bundle_digest=digest,
        bundle_codec=codec,
    )
    submission = Submission(
        JobId(job_id), 0, Job(spec), result, commitment.root, commitment.count, b"\x2a" * 32
    )
    verifier = Verifier(store, executor, BundleCache(store, root / "bundles"), root / "work", ME)
    verdict = verifier.verify(submission)
    replay = verifier.folder(submission.job_id, submission.attempt) / "output" / "replay.json"
    entries = json.loads(replay.read_text())["replays"] if replay.exists() else []
    return verdict, [entry for entry in entries if isinstance(entry.get("segment"), int)]


def test_noise_well_within_the_tolerance_is_accepted_through_the_measured_distance(
    tmp_path: Path, store: EmbeddedStore, executor: DockerExecutor, runtime_image: ImageRef
) -> None:
    verdict, segments = verify_noisy(tmp_path, store, executor, runtime_image, 1e-5, TOLERANCE, 41)
    assert verdict.approve is True, verdict.reason
    assert len(segments) == SAMPLES
    for entry in segments:  # inexact, so only the tolerance can have accepted it
        assert entry["digest"] != entry["claimed_digest"]
        assert 2e-6 < entry["distance"]["rel_l2"] < 5e-5 <= TOLERANCE


def test_noise_beyond_the_tolerance_is_rejected(
    tmp_path: Path, store: EmbeddedStore, executor: DockerExecutor, runtime_image: ImageRef
) -> None:
    verdict, segments = verify_noisy(tmp_path, store, executor, runtime_image, 1e-2, TOLERANCE, 42)
    assert verdict.approve is False, verdict.reason
    assert "gives another state than checkpoint" in verdict.reason
    assert any(entry["distance"]["rel_l2"] > TOLERANCE for entry in segments)
    assert verdict.evidence.segment in {entry["segment"] + 1 for entry in segments}


def test_without_a_tolerance_the_same_small_noise_is_rejected(
    tmp_path: Path, store: EmbeddedStore, executor: DockerExecutor, runtime_image: ImageRef
) -> None:
    verdict, _ = verify_noisy(tmp_path, store, executor, runtime_image, 1e-5, None, 43)
    assert verdict.approve is False, verdict.reason
    assert "gives another state than checkpoint" in verdict.reason
