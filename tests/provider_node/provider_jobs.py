"""Jobs for the provider tests: a bundle built from a script, added to the shared store, posted on chain."""

from __future__ import annotations

import dataclasses
import io
import textwrap
from pathlib import Path
from typing import Any

from chain import Capabilities, JobId, JobSpec, MarketClient, VerificationMode, tokens
from jobs.bundle import pack_directory
from jobs.cid import Cid
from jobs.store import ContentStore
from tests.conftest import TEST_CONFIG

PROVIDER_CAPS = Capabilities(
    gpu_count=0, gpu_memory_mib=0, gpu_class=0, cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1)
)
PROVIDER_STAKE = tokens(200)
# Digest of an image nobody has; fine wherever the image check accepts everything (no-op executor).
FAKE_DIGEST = "sha256:" + "ab" * 32

SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x00" * 32,
    bundle_codec=0x55,
    collateral=tokens(5),
    run_timeout=3600,
    cpu_cores=1,
    memory_mib=128,
    mode=VerificationMode.NONE,
    committee_size=0,  # mode none has no committee
    verify_blocks=5,
    validator_fee=tokens(1),
).with_protocol_fee(TEST_CONFIG.fee_bps)  # as the client fills it in: `escrow` is what a post pulls

SUCCESS_SCRIPT = """
import json, hashlib, os
out = os.environ["CROWDCOMPUTE_OUTPUT_DIR"]
os.makedirs(f"{out}/checkpoints", exist_ok=True)
digests = []
for i in range(3):
    data = f"checkpoint {i}".encode()
    open(f"{out}/checkpoints/c{i}.bin", "wb").write(data)
    digests.append({"index": i, "digest": hashlib.sha256(data).hexdigest()})
json.dump({"checkpoints": digests}, open(f"{out}/checkpoints/manifest.json", "w"))
open(f"{out}/model.bin", "wb").write(b"final model")
print("trained", flush=True)
"""


def manifest_text(
    image: str = "crowdcompute/test-python:latest",
    digest: str = FAKE_DIGEST,
    *,
    cpus: float = 0.5,
    memory_mib: int = 128,
    timeout_s: int = 60,
    name: str = "provider-test",
    outputs_path: str = ".",
) -> str:
    return textwrap.dedent(
        f"""
        name = "{name}"
        [runtime]
        image = "{image}"
        digest = "{digest}"
        entrypoint = ["python3", "/input/job.py"]
        [resources]
        cpus = {cpus}
        memory_mib = {memory_mib}
        disk_mib = 64
        timeout_s = {timeout_s}
        [verification]
        mode = "none"
        committee_size = 1
        [outputs]
        path = "{outputs_path}"
        max_size_mib = 8
        """
    )


def make_bundle(store: ContentStore, folder: Path, script: str = SUCCESS_SCRIPT, **manifest: Any) -> Cid:
    """A job folder with `job.toml` and `job.py`, packed canonically and added (pinned) to `store`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.toml").write_text(manifest_text(**manifest))
    (folder / "job.py").write_text(textwrap.dedent(script))
    buffer = io.BytesIO()
    pack_directory(folder, buffer)
    return store.add_bytes(buffer.getvalue())


def post_job(requester: MarketClient, cid: Cid, **changes: Any) -> JobId:
    digest, codec = cid.to_chain()
    spec = dataclasses.replace(SPEC, bundle_digest=digest, bundle_codec=codec, **changes)
    return requester.post_job(spec).job_id


def register_provider(client: MarketClient, caps: Capabilities = PROVIDER_CAPS) -> MarketClient:
    client.register_provider(caps, b"\x01" * 32)
    client.stake(PROVIDER_STAKE)
    return client
