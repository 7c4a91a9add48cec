"""The requester library's exceptions: one root, `RequesterError`; each subclass also inherits a built-in.

Messages name the problem and the fix, so the CLI prints them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence


class RequesterError(Exception):
    """Root of every error `crowdcompute.requester` raises on purpose."""


class InvalidJob(RequesterError, ValueError):
    """The job folder cannot be posted: its manifest or files are refused; `problems` as `field: message`."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class InvalidSpec(RequesterError, ValueError):
    """An amount or number for the on-chain spec breaks the rules `postJob` enforces; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InsufficientTokens(RequesterError, ValueError):
    """The account holds fewer tokens than the job's escrow (budget + committee fees)."""

    def __init__(self, address: str, balance: int, needed: int, message: str) -> None:
        super().__init__(message)
        self.address = address
        self.balance = balance
        self.needed = needed


class GatewayUnreachable(RequesterError, ConnectionError):
    """No gateway answers at the URL."""


class GatewayRefused(RequesterError, ValueError):
    """The gateway answered with an error; `status` is the HTTP status, `problems` its field problems."""

    def __init__(self, message: str, status: int, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = list(problems)


class ContentMismatch(RequesterError, ValueError):
    """The gateway stored or served content under a CID other than the one computed here."""


class CheckpointMismatch(RequesterError, ValueError):
    """A downloaded result's checkpoints are not what its provider committed; `index` names the first
    checkpoint found wrong (None when only the root or count tells)."""

    def __init__(self, message: str, index: int | None) -> None:
        super().__init__(message)
        self.index = index


class NoResult(RequesterError, LookupError):
    """The job has no submitted result to download (yet, or any more after a reopen)."""


class ResultUnavailable(RequesterError, OSError):
    """The result CID is known but its content cannot be fetched or is not a safe archive."""


class NotCancellable(RequesterError, PermissionError):
    """The market refused the cancel (not this account's job, or not open); the decoded error says which."""

    def __init__(self, message: str, error_name: str) -> None:
        super().__init__(message)
        self.error_name = error_name


class NotAppealable(RequesterError, PermissionError):
    """The job's round cannot be appealed now (no result being verified, the final round, outside the appeal
    window, the round's votes not to be had, or the market refused); the message says which and what to do."""

    def __init__(self, message: str, error_name: str = "") -> None:
        super().__init__(message)
        self.error_name = error_name


class JobEnded(RequesterError, LookupError):
    """The job closed (Accepted, Rejected, Unverified, Cancelled, Expired) without reaching what was
    awaited or asked; `state` is how it closed."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class WaitTimeout(RequesterError, TimeoutError):
    """A job did not reach the awaited status in time; `last` is the status it had."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


class UnpinnedRuntime(RequesterError, ValueError):
    """job.toml pins the examples' placeholder image id, and no real id is known to pin it to here."""


class MarketIsPaused(RequesterError, PermissionError):
    """The market's guardian paused it: no new job can be posted until it is unpaused (running jobs still
    settle, and refunds and withdrawals still work)."""


class NoProviderCanRun(RequesterError, ValueError):
    """No provider registered on the market can run the job as it stands; `reasons` say why, in words."""

    def __init__(self, message: str, reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.reasons = list(reasons)
