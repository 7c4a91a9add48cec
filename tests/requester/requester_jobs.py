"""Job folders and a scripted provider for the requester tests."""

from __future__ import annotations

import hashlib
import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from chain import MarketClient, ResultCommitment
from jobs.bundle import pack_output
from jobs.cid import Cid
from jobs.commitments import merkle_root
from jobs.store import ContentStore

FAKE_DIGEST = "sha256:" + "ab" * 32


def write_job(
    folder: Path,
    *,
    cpus: str = "1",
    mode: str = "none",
    payment: str = "",
    timeout_s: int = 600,
    extra: str = "",
) -> Path:
    """A small valid job folder (a script and its manifest); `cpus` goes into the TOML as written."""
    folder.mkdir(parents=True)
    verification = f'mode = "{mode}"\ncommittee_size = 1'
    if mode == "segments":
        verification += "\ncheckpoint_interval = 10\nsamples_per_validator = 1"
    manifest = textwrap.dedent(
        f"""\
        name = "requester-test"
        [runtime]
        image = "crowdcompute/runtime-cpu:torch2.13"
        digest = "{FAKE_DIGEST}"
        entrypoint = ["python3", "job.py"]
        [resources]
        cpus = {cpus}
        memory_mib = 256
        disk_mib = 64
        timeout_s = {timeout_s}
        [outputs]
        max_size_mib = 8
        """
    )
    manifest += f"[verification]\n{verification}\n{extra}"
    if payment:
        manifest += f"[payment]\n{payment}\n"
    (folder / "job.toml").write_text(manifest)
    (folder / "job.py").write_text("print('training')\n")
    (folder / "data").mkdir()
    (folder / "data" / "numbers.txt").write_text("1 2 3\n")
    return folder


def write_output(folder: Path) -> dict[str, bytes]:
    """What a finished training run leaves: checkpoints with their manifest and a final model."""
    files = {f"checkpoints/c{i}.bin": f"checkpoint {i}".encode() for i in range(3)}
    files["model.pt"] = b"final weights" * 100
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    listed = [
        {"index": i, "digest": hashlib.sha256(files[f"checkpoints/c{i}.bin"]).hexdigest()} for i in range(3)
    ]
    manifest = json.dumps({"checkpoints": listed}).encode()
    (folder / "checkpoints" / "manifest.json").write_bytes(manifest)
    files["checkpoints/manifest.json"] = manifest
    return files


def provide_result(
    provider: MarketClient, job_id: int, store: ContentStore, work: Path
) -> tuple[Cid, dict[str, bytes]]:
    """Claim job `job_id`, pack an output folder (jobs.bundle.output), pin it and submit its CID."""
    provider.claim_job(job_id)
    out = work / "output"
    out.mkdir(parents=True)
    files = write_output(out)
    packed = pack_output(out, work / "result.tar")
    cid = store.add_file(packed.path, cid_version=1)
    digests = [hashlib.sha256(files[f"checkpoints/c{i}.bin"]).digest() for i in range(3)]
    digest, codec = cid.to_chain()
    provider.submit_result(job_id, ResultCommitment(digest, merkle_root(digests), 3, codec))
    return cid, files


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
