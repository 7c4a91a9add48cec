"""Job bundles: a job folder as one deterministic tar, and safe extraction of bundles and uploads.

Callers (the gateway, providers, validators, the CLI) use:

* `pack_directory(src, out_stream)` / `packed_size(src)`: the canonical tar of a job folder;
* `repack_upload(upload_stream, out_stream)`: a tar, tar.gz or zip upload as the canonical tar;
* `extract_bundle(archive, dest, limits)`: all-or-nothing safe extraction;
* `BundleCache(store, root).get(cid)`: a job's bundle fetched by CID, extracted once, its manifest read
  (`BundleProblem` says whether retrying can help); `bundle_cid(digest, codec)`;
* `pack_output(folder, dest)`: an execution's output folder as the same canonical tar;
* `BundleLimits`, and the errors `BundleError` > `InvalidArchive`, `UnsafeArchive` > `ArchiveLimitExceeded`,
  `BundleSourceError` (all `JobsError`s; all but `BundleError` itself are also `ValueError`s).
"""

from jobs.bundle.cache import Bundle, BundleCache, BundleProblem, bundle_cid
from jobs.bundle.errors import (
    ArchiveLimitExceeded,
    BundleError,
    BundleSourceError,
    InvalidArchive,
    UnsafeArchive,
)
from jobs.bundle.extract import ExtractSummary, extract_bundle, repack_upload
from jobs.bundle.limits import DEFAULT_LIMITS, BundleLimits
from jobs.bundle.output import PackedOutput, pack_output
from jobs.bundle.pack import pack_directory, packed_size, read_job_manifest

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveLimitExceeded",
    "Bundle",
    "BundleCache",
    "BundleError",
    "BundleLimits",
    "BundleProblem",
    "BundleSourceError",
    "ExtractSummary",
    "InvalidArchive",
    "PackedOutput",
    "UnsafeArchive",
    "bundle_cid",
    "extract_bundle",
    "pack_directory",
    "pack_output",
    "packed_size",
    "read_job_manifest",
    "repack_upload",
]
