"""Errors of the nodes' base; all derive from `NodeBaseError`."""

from __future__ import annotations


class NodeBaseError(Exception):
    """Base class of every error `node_base` raises."""


class DataDirInUse(NodeBaseError, RuntimeError):
    """Another daemon holds the node's data folder; `pid` is its process id when it wrote one."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid
