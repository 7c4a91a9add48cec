"""The execution a job's manifest asks for: its pinned image, entrypoint, environment and resource limits.

The provider's run, the validators' replays and the benches start the same container from the same
manifest; only where the files live, the time left and a few overrides differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from jobs.executors.base import MIB, ExecutionId, ExecutionRequest, ImageRef
from jobs.manifest import Manifest


def request_for_manifest(
    manifest: Manifest,
    *,
    execution_id: ExecutionId,
    job_id: int,
    input_dir: Path,
    output_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    output_limit_bytes: int | None = None,
    timeout_s: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> ExecutionRequest:
    """The request for one execution of `manifest`'s job; `None` overrides keep the manifest's limits.

    The container's /tmp gets the smaller of the job's disk and memory (at least 1 MiB): it is memory-backed.
    """
    resources = manifest.resources
    return ExecutionRequest(
        execution_id=execution_id,
        job_id=str(job_id),
        image=ImageRef(manifest.runtime.image, manifest.runtime.digest),
        argv=tuple(manifest.runtime.entrypoint),
        input_dir=input_dir.resolve(),
        output_dir=output_dir.resolve(),
        env={**manifest.runtime.env, **(extra_env or {})},
        output_limit_bytes=(
            manifest.outputs.max_size_mib * MIB if output_limit_bytes is None else output_limit_bytes
        ),
        tmp_limit_bytes=max(MIB, min(resources.disk_mib, resources.memory_mib) * MIB),
        cpus=resources.cpus,
        memory_mib=resources.memory_mib,
        gpus=resources.gpus,
        timeout_s=float(resources.timeout_s if timeout_s is None else timeout_s),
        labels=dict(labels or {}),
    )
