"""Errors of confidential jobs' sealing: all derive from `SealingError` (a `JobsError`)."""

from __future__ import annotations

from jobs.errors import JobsError


class SealingError(JobsError):
    """Base class for errors while sealing or opening streams, key seals, bundles and results."""


class SealedDataError(SealingError, ValueError):
    """A sealed stream does not open; names the file (`what`) and the reason."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(what, reason)

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


class SealedKeyError(SealingError, ValueError):
    """A key seal does not open (wrong recipient key, tampered, malformed); names the job and the reason."""

    def __init__(self, job_id: int, reason: str) -> None:
        self.job_id = job_id
        self.reason = reason
        super().__init__(job_id, reason)

    def __str__(self) -> str:
        return f"job {self.job_id}: sealed key refused: {self.reason}"
