"""Errors raised while packing, reading or extracting bundles."""

from __future__ import annotations

from jobs.errors import JobsError


class BundleError(JobsError):
    """Base class for bundle errors."""


class InvalidArchive(BundleError, ValueError):
    """The upload is not a readable tar, tar.gz or zip archive (corrupt, truncated, unsupported)."""


class UnsafeArchive(BundleError, ValueError):
    """An archive entry was refused because extracting it could be unsafe; names the entry."""

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        self.reason = reason
        super().__init__(entry, reason)

    def __str__(self) -> str:
        return f"archive entry {self.entry!r} refused: {self.reason}"


class ArchiveLimitExceeded(UnsafeArchive):
    """The archive goes past a `BundleLimits` bound (size, file count, compression ratio).

    `limit` names the `BundleLimits` field, `allowed` its value and `actual` what the archive reached
    when reading stopped (reading stops at the first byte past the limit, so `actual` is a lower bound).
    """

    def __init__(self, entry: str, limit: str, allowed: float, actual: float, reason: str) -> None:
        self.limit = limit
        self.allowed = allowed
        self.actual = actual
        super().__init__(entry, reason)


class BundleSourceError(BundleError, ValueError):
    """A job folder holds what a bundle cannot carry (a device, a FIFO, a link leaving it, a bad name)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(path, reason)

    def __str__(self) -> str:
        return f"cannot pack {self.path!r}: {self.reason}"
