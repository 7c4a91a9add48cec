"""The manifest's [sealed] table (docs/confidential.md, "Bundle layout"): its fields checked, and a sealed
manifest refused when it still carries what the sealed payload keeps secret."""

from __future__ import annotations

import pytest

from jobs.manifest import ManifestError, load_manifest, manifest_json_schema

BASE = """name = "private-job"

[runtime]
image = "python:3.11-slim"
digest = "sha256:{digest}"
entrypoint = ["python3", "train.py"]
{env}
[resources]
cpus = 1
memory_mib = 512
disk_mib = 256
timeout_s = 600

[verification]
mode = "replicate"
committee_size = 3

[outputs]
max_size_mib = 16

[sealed]
scheme = "{scheme}"
payload = "sealed.payload"
key_salt = "{salt}"
requester = "{requester}"
"""
GOOD = {
    "digest": "1" * 64,
    "env": "",
    "scheme": "crowdcompute-sealed-v1",
    "salt": "ab" * 32,
    "requester": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
}


def manifest(**changes: str) -> bytes:
    return BASE.format(**(GOOD | changes)).encode()


def problems(text: bytes) -> dict[str, str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(text)
    return {problem.field: problem.message for problem in caught.value.problems}


def test_a_sealed_manifest_loads_with_its_table() -> None:
    sealed = load_manifest(manifest()).sealed
    assert sealed is not None and sealed.key_salt == "ab" * 32 and sealed.payload == "sealed.payload"


def test_each_sealed_field_is_checked() -> None:
    assert "sealed.scheme" in problems(manifest(scheme="crowdcompute-sealed-v2"))
    assert "sealed.key_salt" in problems(manifest(salt="AB" * 32))
    assert "sealed.key_salt" in problems(manifest(salt="ab" * 31))
    assert "sealed.requester" in problems(manifest(requester="0x1234"))


def test_a_sealed_manifest_with_env_or_description_is_refused() -> None:
    found = problems(manifest(env='env = { DATASET = "s3://private" }\n'))
    assert "must be absent when [sealed] is present" in found["runtime.env"]
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest(env='env = { DATASET = "s3://private" }\n'))
    assert "s3://private" not in str(caught.value)
    found = problems(manifest().replace(b'name = "private-job"', b'name = "private-job"\ndescription = "x"'))
    assert "must be absent" in found["description"]


def test_the_schema_describes_the_sealed_table() -> None:
    sealed = manifest_json_schema()["$defs"]["Sealed"]
    assert set(sealed["required"]) == {"scheme", "payload", "key_salt", "requester"}
    assert sealed["properties"]["key_salt"]["pattern"] == "^[0-9a-f]{64}$"
