"""Sealed bundles (docs/confidential.md, "Bundle layout"): the public manifest says what a provider needs
to match and nothing else, the payload opens to exactly the tree a clear bundle gives, and every failure
leaves the sealed folder as it was."""

from __future__ import annotations

import hashlib
import io
import os
import tomllib
from pathlib import Path

import pytest
from eth_account import Account

from chain.dev_accounts import DEV_PRIVATE_KEYS
from jobs.bundle import BundleLimits, extract_bundle, pack_directory
from jobs.manifest import ManifestError, load_manifest
from jobs.sealing import (
    RequesterKeys,
    SealedDataError,
    SealingError,
    is_sealed_folder,
    open_job_folder,
    seal_job_folder,
    sealed_info,
)

CHAIN = 31337
REQUESTER = Account.from_key(DEV_PRIVATE_KEYS[0])
KEYS = RequesterKeys.from_account(REQUESTER, CHAIN)
SECRET = "SECRET-MARKER-5b1e"  # in the description, the env and every file: must not appear sealed

MANIFEST = f'''# a comment that says as much as a description: {SECRET}
name = "private-job"
description = "trains on {SECRET} data"

[runtime]
image = "python:3.11-slim"
digest = "sha256:{"1" * 64}"
entrypoint = ["python3", "train.py"]
env = {{ DATASET = "{SECRET}" }}

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
'''


@pytest.fixture
def job(tmp_path: Path) -> Path:
    root = tmp_path / "job"
    (root / "data" / "nested").mkdir(parents=True)
    (root / "job.toml").write_text(MANIFEST)
    (root / "train.py").write_text(f"print('{SECRET}')\n")
    (root / "train.py").chmod(0o755)
    (root / "data" / "nested" / "rows.csv").write_bytes((SECRET + ",1\n").encode() * 50_000)  # > 1 MiB
    (root / "data" / "empty.bin").write_bytes(b"")
    os.symlink("nested/rows.csv", root / "data" / "link.csv")
    return root


def digests(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[relative] = "link:" + os.readlink(path)
        elif path.is_file():
            out[relative] = (
                f"{oct(path.stat().st_mode & 0o111)}:" + hashlib.sha256(path.read_bytes()).hexdigest()
            )
        else:
            out[relative] = "dir"
    return out


def clear_bundle_tree(job: Path, dest: Path) -> Path:
    tar = io.BytesIO()
    pack_directory(job, tar)
    tar.seek(0)
    extract_bundle(tar, dest)
    return dest


def test_seal_then_open_gives_the_tree_of_a_clear_bundle(job: Path, tmp_path: Path) -> None:
    sealed = tmp_path / "sealed"
    info = seal_job_folder(job, sealed, KEYS, chain_id=CHAIN, requester=REQUESTER.address.lower())
    assert sorted(os.listdir(sealed)) == ["job.toml", "sealed.payload"]
    assert is_sealed_folder(sealed) and not is_sealed_folder(job)
    assert sealed_info(sealed).key_salt == info.key_salt and info.requester == REQUESTER.address
    content_key = KEYS.content_key(info.key_salt)  # what the requester re-derives from the public salt
    open_job_folder(sealed, content_key, chain_id=CHAIN, job_id=7)
    assert digests(sealed) == digests(clear_bundle_tree(job, tmp_path / "clear"))
    assert sorted(os.listdir(tmp_path)) == ["clear", "job", "sealed"]  # no temporary folder left


def test_the_sealed_folder_shows_only_the_public_tables(job: Path, tmp_path: Path) -> None:
    sealed = tmp_path / "sealed"
    info = seal_job_folder(job, sealed, KEYS, chain_id=CHAIN, requester=REQUESTER.address)
    everything = b"".join(path.read_bytes() for path in sealed.iterdir())
    assert SECRET.encode() not in everything
    assert b"print(" not in everything and b"rows.csv" not in everything
    public = tomllib.loads((sealed / "job.toml").read_text())
    assert set(public) == {"name", "runtime", "resources", "verification", "outputs", "sealed"}
    assert "env" not in public["runtime"]
    assert public["sealed"] == {
        "scheme": "crowdcompute-sealed-v1",
        "payload": "sealed.payload",
        "key_salt": info.key_salt.hex(),
        "requester": REQUESTER.address,
    }
    original = load_manifest(job)
    assert load_manifest(sealed).to_requirements() == original.to_requirements()


def test_each_bundle_gets_a_fresh_salt_and_content_key(job: Path, tmp_path: Path) -> None:
    first = seal_job_folder(job, tmp_path / "a", KEYS, chain_id=CHAIN, requester=REQUESTER.address)
    second = seal_job_folder(job, tmp_path / "b", KEYS, chain_id=CHAIN, requester=REQUESTER.address)
    assert first.key_salt != second.key_salt
    assert KEYS.content_key(first.key_salt) != KEYS.content_key(second.key_salt)


def test_keys_of_another_account_are_refused_at_sealing(job: Path, tmp_path: Path) -> None:
    other = Account.from_key(DEV_PRIVATE_KEYS[2]).address
    with pytest.raises(SealingError, match="not derived from"):
        seal_job_folder(job, tmp_path / "sealed", KEYS, chain_id=CHAIN, requester=other)
    assert not (tmp_path / "sealed").exists()


def sealed_folder(job: Path, tmp_path: Path) -> tuple[Path, bytes]:
    sealed = tmp_path / "sealed"
    info = seal_job_folder(job, sealed, KEYS, chain_id=CHAIN, requester=REQUESTER.address)
    return sealed, KEYS.content_key(info.key_salt)


def assert_untouched(sealed: Path, before: dict[str, str], tmp_path: Path) -> None:
    assert digests(sealed) == before
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temporary folder


def test_a_wrong_key_leaves_the_sealed_folder_as_it_was(job: Path, tmp_path: Path) -> None:
    sealed, _ = sealed_folder(job, tmp_path)
    before = digests(sealed)
    with pytest.raises(SealedDataError) as caught:
        open_job_folder(sealed, bytes(32), chain_id=CHAIN, job_id=7)
    assert (
        str(caught.value) == "job 7: bundle sealed.payload: authentication failed: wrong key or tampered data"
    )
    assert_untouched(sealed, before, tmp_path)


def test_a_payload_tampered_near_its_end_leaves_nothing_half_opened(job: Path, tmp_path: Path) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    payload = sealed / "sealed.payload"
    data = bytearray(payload.read_bytes())
    data[-20] ^= 1  # the first megabyte opens and extracts; the last chunk does not
    payload.write_bytes(bytes(data))
    before = digests(sealed)
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7)
    assert_untouched(sealed, before, tmp_path)


def test_a_truncated_payload_is_refused(job: Path, tmp_path: Path) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    payload = sealed / "sealed.payload"
    payload.write_bytes(payload.read_bytes()[: 26 + (1 << 20) + 16])  # header and the first full chunk
    with pytest.raises(SealedDataError, match="truncated"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7)


def test_a_payload_under_another_public_salt_or_chain_is_refused(job: Path, tmp_path: Path) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_job_folder(sealed, key, chain_id=1, job_id=7)
    manifest = sealed / "job.toml"
    text = manifest.read_text()
    salt = sealed_info(sealed).key_salt.hex()
    manifest.write_text(text.replace(salt, "0" * 64))
    with pytest.raises(SealedDataError, match="authentication failed"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7)


def test_a_public_manifest_that_asks_for_less_than_the_sealed_one_is_refused(
    job: Path, tmp_path: Path
) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    manifest = sealed / "job.toml"
    manifest.write_text(manifest.read_text().replace("memory_mib = 512", "memory_mib = 256"))
    before = digests(sealed)
    with pytest.raises(SealedDataError, match="differs from the public one"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7)
    assert_untouched(sealed, before, tmp_path)


def test_an_extra_member_in_a_sealed_bundle_is_refused(job: Path, tmp_path: Path) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    (sealed / "run.sh").write_text("echo planted")
    with pytest.raises(SealingError, match=r"job\.toml and sealed\.payload only"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7)


def test_a_sealed_manifest_with_a_description_or_env_is_invalid(job: Path, tmp_path: Path) -> None:
    sealed, _ = sealed_folder(job, tmp_path)
    text = (sealed / "job.toml").read_text()
    with pytest.raises(ManifestError, match="must be absent when \\[sealed\\] is present"):
        load_manifest(
            text.replace('name = "private-job"', 'name = "private-job"\ndescription = "x"').encode()
        )


def test_an_opened_bundle_past_the_limits_is_refused_like_a_clear_one(job: Path, tmp_path: Path) -> None:
    sealed, key = sealed_folder(job, tmp_path)
    before = digests(sealed)
    with pytest.raises(SealedDataError, match=r"the opened bundle is refused: .*rows\.csv"):
        open_job_folder(sealed, key, chain_id=CHAIN, job_id=7, limits=BundleLimits(max_file_bytes=1000))
    assert_untouched(sealed, before, tmp_path)
