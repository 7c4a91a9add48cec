"""The gateway's own bounds on what one uploaded bundle may unpack to, from its settings.

Tighter than `jobs.bundle.DEFAULT_LIMITS` (which a provider applies to bundles it already chose to run):
anyone may upload, and every accepted byte is pinned. The extraction counts entries and bytes while it
reads the archive (a zip's declared entries and sizes before any is read), so a refusal comes before the
rest is written.
"""

from __future__ import annotations

from api.errors import BundleLimitError
from api.settings import Settings
from jobs.bundle import ArchiveLimitExceeded, BundleLimits
from jobs.bundle.limits import format_bytes

SETTING_OF_LIMIT = {
    "max_total_bytes": "bundle_max_unpacked_bytes",
    "max_file_bytes": "bundle_max_unpacked_bytes",
    "max_files": "bundle_max_files",
    "max_ratio": "bundle_max_ratio",
}
"""Which gateway setting sets each `BundleLimits` field."""


def gateway_bundle_limits(settings: Settings) -> BundleLimits:
    return BundleLimits(
        max_total_bytes=settings.bundle_max_unpacked_bytes,
        max_file_bytes=settings.bundle_max_unpacked_bytes,
        max_files=settings.bundle_max_files,
        max_ratio=settings.bundle_max_ratio,
    )


def limit_refusal(exc: ArchiveLimitExceeded) -> BundleLimitError:
    """A 413 naming the archive's problem and the setting that bounds it."""
    setting = SETTING_OF_LIMIT.get(exc.limit)
    if setting is None:
        return BundleLimitError(f"bundle refused: {exc}", limit=exc.limit)
    allowed = (
        f"{format_bytes(exc.allowed)} ({exc.allowed:.0f} bytes)"
        if setting == "bundle_max_unpacked_bytes"
        else f"{exc.allowed:g}"
    )
    return BundleLimitError(
        f"bundle refused: {exc} (this gateway's {setting} is {allowed}; its operator sets it with "
        f"CROWDCOMPUTE_GATEWAY_{setting.upper()})",
        limit=exc.limit,
        setting=setting,
    )
