"""A validator extracts only the files of a result its verdict reads: the checkpoint list, the sampled
segments' checkpoints, the last one and model.pt, not every checkpoint the provider wrote."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import Job, JobSpec, VerificationMode
from jobs.sampling import sample_indices
from jobs.store import EmbeddedStore
from validator.verify import Submission, Verifier

ME = "0x" + "11" * 20
CHECKPOINTS = 21  # 20 segments
SAMPLES = 3


def _result_tar() -> bytes:
    buffer = io.BytesIO()
    files = {f"checkpoints/ckpt_{i}.pt": bytes([i]) * 64 for i in range(CHECKPOINTS)}
    digests = [{"index": i, "digest": f"{i:064x}"} for i in range(CHECKPOINTS)]
    files |= {
        "checkpoints/manifest.json": json.dumps({"checkpoints": digests}).encode(),
        "model.pt": b"weights",
        "metrics.jsonl": b"{}\n",
    }
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fetched(tmp_path: Path, mode: VerificationMode, tolerance: float | None = None) -> tuple[set[str], Any]:
    store = EmbeddedStore(tmp_path / "store")
    cid = store.add_bytes(_result_tar())
    spec = JobSpec(run_timeout=60, mode=mode, committee_size=3, samples_per_validator=SAMPLES)
    submission = Submission(7, 0, Job(spec), cid, b"\0" * 32, CHECKPOINTS, b"\x05" * 32)
    bundle: Any = SimpleNamespace(
        manifest=SimpleNamespace(
            outputs=SimpleNamespace(max_size_mib=8), verification=SimpleNamespace(tolerance=tolerance)
        )
    )
    verifier = Verifier(store, executor=None, bundles=None, work_dir=tmp_path / "work", me=ME)  # type: ignore[arg-type]
    result = verifier._fetch_result(
        submission, bundle, tmp_path / "job", verifier._needed(submission, bundle)
    )
    extracted = {p.relative_to(result).as_posix() for p in result.rglob("*") if p.is_file()}
    return extracted, submission


@pytest.mark.parametrize("tolerance", [None, 0.01])
def test_segments_extracts_the_list_the_sample_the_last_checkpoint_and_the_model(
    tmp_path: Path, tolerance: float | None
) -> None:
    extracted, submission = _fetched(tmp_path, VerificationMode.SEGMENTS, tolerance)

    sampled = sample_indices(submission.seed, submission.job_id, ME, SAMPLES, CHECKPOINTS - 1)
    wanted = {*sampled, CHECKPOINTS - 1}
    if tolerance is not None:  # the distance is measured against each sampled segment's end
        wanted |= {i + 1 for i in sampled}
    assert extracted == {
        "checkpoints/manifest.json",
        "model.pt",
        *(f"checkpoints/ckpt_{i}.pt" for i in wanted),
    }
    assert len(extracted) < CHECKPOINTS, "most checkpoints must stay unextracted"


@pytest.mark.parametrize("mode", [VerificationMode.SHARDS, VerificationMode.REPLICATE])
def test_shards_and_replicate_extract_only_the_checkpoint_list(
    tmp_path: Path, mode: VerificationMode
) -> None:
    extracted, _ = _fetched(tmp_path, mode)
    assert extracted == {"checkpoints/manifest.json"}
