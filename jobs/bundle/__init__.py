"""Job bundles: a job folder as one deterministic tar, and safe extraction of bundles and uploads.

Callers (the gateway, providers, validators, the CLI) use:

* `pack_directory(src, out_stream)` / `packed_size(src)`: the canonical tar of a job folder;
* `repack_upload(upload_stream, out_stream)`: a tar, tar.gz or zip upload as the canonical tar;
* `extract_bundle(archive, dest, limits)`: all-or-nothing safe extraction;
* `BundleLimits`, and the errors `BundleError` > `InvalidArchive`, `UnsafeArchive` > `ArchiveLimitExceeded`,
  `BundleSourceError` (all `JobsError`s; all but `BundleError` itself are also `ValueError`s).
"""

from jobs.bundle.errors import (
    ArchiveLimitExceeded,
    BundleError,
    BundleSourceError,
    InvalidArchive,
    UnsafeArchive,
)
from jobs.bundle.extract import ExtractSummary, extract_bundle, repack_upload
from jobs.bundle.limits import DEFAULT_LIMITS, BundleLimits
from jobs.bundle.pack import pack_directory, packed_size, read_job_manifest

__all__ = [
    "DEFAULT_LIMITS",
    "ArchiveLimitExceeded",
    "BundleError",
    "BundleLimits",
    "BundleSourceError",
    "ExtractSummary",
    "InvalidArchive",
    "UnsafeArchive",
    "extract_bundle",
    "pack_directory",
    "packed_size",
    "read_job_manifest",
    "repack_upload",
]
