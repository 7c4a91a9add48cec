"""The provider node's errors; every one derives from `ProviderNodeError`."""

from __future__ import annotations

__all__ = ["ProviderNodeError"]


class ProviderNodeError(Exception):
    """Root of the provider package's errors (a node that cannot run as configured: not registered, ...)."""
