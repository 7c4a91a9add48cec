"""Job bundles by CID: fetched from the content store (every block verified), extracted safely, cached.

A bundle is fetched once per CID, before the claim (its manifest decides whether the node can run the
job), and its folder is then the execution's read-only input. Failures say whether trying again later
can help: a store that lacks the content now may have it later; an unsafe archive or a bad manifest
never changes.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.bundle.errors import BundleError
from jobs.bundle.extract import extract_bundle
from jobs.cid import Cid, InvalidCid
from jobs.manifest import Manifest, ManifestError, load_manifest
from jobs.store import ContentStore, StoreError

__all__ = ["Bundle", "BundleCache", "BundleProblem", "bundle_cid"]

log = logging.getLogger(__name__)


class BundleProblem(BundleError):
    """Why a job's bundle cannot be used; `permanent` when retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Bundle:
    cid: Cid
    path: Path
    manifest: Manifest


def bundle_cid(digest: bytes, codec: int) -> Cid:
    """The bundle's CID from the spec's (digest, codec); an unknown codec is a permanent problem."""
    try:
        return Cid.from_chain(digest, codec)
    except InvalidCid as exc:
        raise BundleProblem(f"its bundle CID cannot be used: {exc}", permanent=True) from None


class BundleCache:
    """Extracted bundles under `root/<cid>`, their manifests in memory, failures remembered."""

    def __init__(self, store: ContentStore, root: Path, *, retry_s: float = 30.0) -> None:
        self.store = store
        self.root = root
        self.retry_s = retry_s
        self._bundles: dict[Cid, Bundle] = {}
        self._failures: dict[Cid, tuple[float, BundleProblem]] = {}
        self._lock = threading.Lock()

    def get(self, cid: Cid) -> Bundle:
        """The bundle, fetching and extracting it if needed; raises `BundleProblem`."""
        with self._lock:
            cached = self._bundles.get(cid)
            if cached is not None:
                return cached
            failed = self._failures.get(cid)
            if failed is not None and (failed[1].permanent or time.monotonic() - failed[0] < self.retry_s):
                raise failed[1]
            try:
                bundle = self._load(cid)
            except BundleProblem as problem:
                self._failures[cid] = (time.monotonic(), problem)
                raise
            self._failures.pop(cid, None)
            self._bundles[cid] = bundle
            return bundle

    def _load(self, cid: Cid) -> Bundle:
        dest = self.root / str(cid)
        if not dest.is_dir():
            self._fetch(cid, dest)
        try:
            manifest = load_manifest(dest)
        except ManifestError as exc:
            raise BundleProblem(f"its manifest is invalid: {exc}", permanent=True) from None
        return Bundle(cid, dest, manifest)

    def _fetch(self, cid: Cid, dest: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        try:
            with self.store.open(cid) as stream:
                summary = extract_bundle(stream, dest)
        except StoreError as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise BundleProblem(
                f"its bundle {cid} could not be fetched from the content store: {exc}", permanent=False
            ) from None
        except (BundleError, ValueError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise BundleProblem(
                f"its bundle {cid} is unsafe or not a bundle: {exc}", permanent=True
            ) from None
        log.info(
            "bundle %s fetched and extracted (%d files, %d bytes) in %.2f s",
            cid,
            summary.files,
            summary.total_bytes,
            time.monotonic() - began,
        )
