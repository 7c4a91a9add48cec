"""Bounds on what an archive may expand to; every extraction runs under one `BundleLimits`."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class BundleLimits:
    """Bounds checked while reading, never trusted from headers alone.

    max_total_bytes: file data written in all (the bytes of regular files).
    max_files: filesystem objects created: files, directories (also those implied by a path), symlinks.
    max_file_bytes: the data of any one file.
    max_ratio: uncompressed bytes per compressed byte, for tar.gz and zip uploads.
    ratio_grace_bytes: output below this size is never judged by ratio (tiny archives compress oddly well).
    """

    max_total_bytes: int = 4 * GiB
    max_files: int = 100_000
    max_file_bytes: int = 4 * GiB
    max_ratio: float = 200.0
    ratio_grace_bytes: int = 1 * MiB

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_files", "max_file_bytes", "ratio_grace_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"BundleLimits.{name} must be >= 0")
        if not self.max_ratio >= 1:
            raise ValueError("BundleLimits.max_ratio must be >= 1")


DEFAULT_LIMITS = BundleLimits()


def format_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'; for error messages."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} bytes"
