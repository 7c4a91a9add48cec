"""Errors of the content store; all derive from `jobs.errors.JobsError` through `StoreError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.errors import JobsError

if TYPE_CHECKING:
    from jobs.cid import Cid


class StoreError(JobsError):
    """Base class of every content-store error."""


class CidMismatch(StoreError, ValueError):
    """Bytes that were meant to be `cid` hash to something else: never served, never stored."""

    def __init__(self, cid: Cid, message: str) -> None:
        super().__init__(message)
        self.cid = cid


class BlockNotFound(StoreError, LookupError):
    """A block the DAG needs is not in the store (or the Kubo node could not find it)."""

    def __init__(self, cid: Cid, message: str | None = None) -> None:
        super().__init__(message or f"block {cid} is not in the store")
        self.cid = cid


class CorruptDag(StoreError, ValueError):
    """A block matches its CID but is no well-formed UnixFS file node (bad protobuf, sizes disagree)."""


class NotAFile(StoreError, ValueError):
    """The CID names a UnixFS directory, symlink or other non-file node; the store serves files only."""


class NotPinned(StoreError, LookupError):
    """`unpin` of a CID that has no recursive pin."""


class KuboError(StoreError):
    """The Kubo RPC API answered with an error."""


class KuboUnavailable(KuboError, ConnectionError):
    """The Kubo RPC API could not be reached."""


class StoreConfigError(StoreError, ValueError):
    """Store settings that cannot be used (a malformed Kubo API address, say)."""


class ContentMissing(BlockNotFound):
    """No source holds the content: each one asked answered that it does not have it."""


class SourceUnavailable(StoreError, ConnectionError):
    """A content source could not be asked (unreachable, timed out, a server error), or no source could."""


class ContentTooLarge(StoreError, ValueError):
    """A source served more bytes than the fetch allows; what it sent was thrown away."""
