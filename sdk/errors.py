"""The SDK's exceptions: one root, `SdkError`, and a subclass per kind of problem."""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "DigestError", "ReplayError", "SdkError", "StateMismatchError"]


class SdkError(Exception):
    """Root of every error the SDK raises on purpose."""


class DigestError(SdkError, TypeError):
    """A state holds a value the canonical encoding has no rule for (or the host is big-endian)."""


class CheckpointError(SdkError, ValueError):
    """A checkpoint file that is missing, unreadable, or not shaped like one this SDK writes."""


class ConfigError(SdkError, ValueError):
    """The job's own setup is unusable: a manifest without a schedule, a bad batch size."""


class ReplayError(SdkError, ValueError):
    """A replay request that cannot be carried out (bad environment variables, unknown segment)."""


class StateMismatchError(SdkError, ValueError):
    """Two states whose structure differs (keys, shapes, dtypes), so no distance between them exists."""
