"""The validator's errors; every one derives from `ValidatorError`."""

from __future__ import annotations

__all__ = ["ResultUnavailable", "ValidatorError"]


class ValidatorError(Exception):
    """Root of the validator package's errors (a node that cannot run as configured, ...)."""


class ResultUnavailable(ValidatorError):
    """The provider's result could not be fetched. `missing`: the store answered and does not have it
    (the provider's responsibility); otherwise the store itself failed (this node's problem)."""

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing
