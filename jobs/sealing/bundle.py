"""Sealed bundles (docs/confidential.md, "Bundle layout"): a job folder as two members, the public
`job.toml` and `sealed.payload`, the sealed stream of the folder's canonical tar (`jobs.bundle`'s
packer, so opening gives exactly what a clear bundle of the same folder gives).

The tar is streamed into the sealer: no plaintext copy of the bundle is ever written. Opening extracts
into a sibling temporary folder and swaps it in only once the whole payload authenticated and its
manifest agrees with the public one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from jobs.bundle import BundleError, BundleLimits, extract_bundle, pack_directory, read_job_manifest
from jobs.manifest import (
    MANIFEST_FILENAME,
    SEALED_PAYLOAD,
    SEALED_SCHEME,
    Manifest,
    ManifestError,
    load_manifest,
)
from jobs.sealing.errors import SealedDataError, SealingError
from jobs.sealing.public_manifest import public_manifest
from jobs.sealing.requester import KEY_SALT_BYTES, RequesterKeys, key_message
from jobs.sealing.stream import DEFAULT_CHUNK_LOG2, OpeningReader, SealingWriter


@dataclass(frozen=True)
class SealedBundleInfo:
    """What the public manifest of a sealed bundle says about its payload."""

    key_salt: bytes
    requester: str  # checksummed
    payload: str
    manifest: Manifest  # the public manifest

    def context(self, chain_id: int) -> str:
        """The sealed stream's context: binds the payload to this chain, requester and salt."""
        return f"bundle|chain={chain_id}|requester={self.requester.lower()}|salt={self.key_salt.hex()}"


def _check_signer(keys: RequesterKeys, chain_id: int, requester: str) -> None:
    """The keys must come from `requester`'s own signature, or it could never re-derive them."""
    message = encode_defunct(text=key_message(chain_id, requester))
    try:
        signer = Account.recover_message(message, signature=keys.signature)
    except Exception:
        signer = ""
    if signer.lower() != requester.lower():
        raise SealingError(
            f"the requester keys were not derived from {requester}'s signature of the key message on chain "
            f"{chain_id}; derive them with RequesterKeys.from_account(account, {chain_id})"
        )


def _public_view(manifest: Manifest) -> Manifest:
    """What a public manifest may say: everything but description, [runtime] env and [sealed]."""
    runtime = manifest.runtime.model_copy(update={"env": {}})
    return manifest.model_copy(update={"description": "", "runtime": runtime, "sealed": None})


def seal_job_folder(
    job_dir: Path,
    dest_dir: Path,
    keys: RequesterKeys,
    *,
    chain_id: int,
    requester: str,
    chunk_log2: int = DEFAULT_CHUNK_LOG2,
    limits: BundleLimits | None = None,
) -> SealedBundleInfo:
    """Write the sealed bundle of `job_dir` into `dest_dir` (absent or empty; all or nothing).

    `limits` bound the job folder as `pack_directory`'s do; the key must come from `requester`'s signature.
    """
    job_dir, dest_dir = Path(job_dir), Path(dest_dir).absolute()
    read_job_manifest(job_dir)  # a valid job folder, or ManifestError
    requester = to_checksum_address(requester)
    _check_signer(keys, chain_id, requester)
    if dest_dir.exists() and (not dest_dir.is_dir() or any(dest_dir.iterdir())):
        raise SealingError(f"{dest_dir} already exists and is not an empty folder; refusing to write over it")
    key_salt = os.urandom(KEY_SALT_BYTES)
    text, public = public_manifest(
        (job_dir / MANIFEST_FILENAME).read_bytes(),
        {
            "scheme": SEALED_SCHEME,
            "payload": SEALED_PAYLOAD,
            "key_salt": key_salt.hex(),
            "requester": requester,
        },
    )
    info = SealedBundleInfo(key_salt, requester, SEALED_PAYLOAD, public)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.sealing-", dir=dest_dir.parent))
    try:
        (staging / MANIFEST_FILENAME).write_text(text, encoding="utf-8")
        with open(staging / SEALED_PAYLOAD, "wb") as out:
            writer = SealingWriter(
                out, keys.content_key(key_salt), info.context(chain_id), chunk_log2=chunk_log2
            )
            pack_directory(job_dir, writer, limits)
            writer.finish()
        os.chmod(staging, 0o755)
        os.replace(staging, dest_dir)  # replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info


def is_sealed_folder(folder: Path) -> bool:
    """Whether `folder` holds a sealed bundle (its `job.toml` has a [sealed] table)."""
    try:
        return load_manifest(Path(folder) / MANIFEST_FILENAME).sealed is not None
    except ManifestError:
        return False


def sealed_info(folder: Path) -> SealedBundleInfo:
    """The salt, requester and payload name from a sealed bundle's public manifest."""
    manifest = load_manifest(Path(folder) / MANIFEST_FILENAME)
    if manifest.sealed is None:
        raise SealingError(f"{folder}/{MANIFEST_FILENAME} has no [sealed] table: not a sealed bundle")
    sealed = manifest.sealed
    return SealedBundleInfo(
        bytes.fromhex(sealed.key_salt), to_checksum_address(sealed.requester), sealed.payload, manifest
    )


def open_job_folder(
    folder: Path, content_key: bytes, *, chain_id: int, job_id: int, limits: BundleLimits | None = None
) -> None:
    """Replace sealed bundle `folder`'s content by the opened job folder; on failure leave it as it was.

    The payload's tar is extracted as any bundle is (`extract_bundle`, with `limits`), straight from the
    opening stream: no plaintext tar is written anywhere.
    """
    folder = Path(folder).absolute()
    info = sealed_info(folder)
    what = f"job {job_id}: bundle {info.payload}"
    members = sorted(path.name for path in folder.iterdir())
    if members != sorted([MANIFEST_FILENAME, info.payload]):
        raise SealingError(
            f"job {job_id}: a sealed bundle holds {MANIFEST_FILENAME} and {info.payload} only, not {members}"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.opening-", dir=folder.parent))
    opened = staging / "job"
    try:
        with open(folder / info.payload, "rb") as source:
            reader = OpeningReader(source, content_key, info.context(chain_id), what=what)
            try:
                extract_bundle(reader, opened, limits)
            except BundleError as exc:
                raise SealedDataError(what, f"the opened bundle is refused: {exc}") from None
            reader.drain()  # the stream's end authenticates too
        _check_same_job(opened, info, what)
        _swap(folder, opened)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_same_job(opened: Path, info: SealedBundleInfo, what: str) -> None:
    """The sealed manifest must ask for what the public one (matched before the claim) asks for."""
    try:
        inner = read_job_manifest(opened)
    except ManifestError as exc:
        raise SealedDataError(what, f"its {MANIFEST_FILENAME} is not valid: {exc}") from None
    if _public_view(inner) != _public_view(info.manifest):
        raise SealedDataError(
            what,
            f"its {MANIFEST_FILENAME} differs from the public one (runtime, resources, verification, outputs "
            "or payment): the job is not the one it was posted as",
        )


def _swap(folder: Path, opened: Path) -> None:
    """Put `opened` where `folder` is: two renames (Linux has no portable directory exchange)."""
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.sealed-", dir=folder.parent))
    os.rmdir(old)
    os.rename(folder, old)
    try:
        os.rename(opened, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    with contextlib.suppress(OSError):
        shutil.rmtree(old)
