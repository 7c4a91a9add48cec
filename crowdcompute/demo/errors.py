"""The demo's exceptions: one root, `DemoError`; each message says where the demo stopped and what to do."""

from __future__ import annotations


class DemoError(RuntimeError):
    """Root of every error the demo raises on purpose."""


class StackError(DemoError):
    """The stack could not start (or a process of it died); the message says which and why."""


class ProcessDied(DemoError):
    """A child the demo needs exited; the message names it and quotes the end of its log."""


class RuntimeImageMissing(DemoError):
    """The runtime image (or the Docker engine) is not there; the message says how to get it."""


class FlowError(DemoError):
    """The job did not end as the demo expects; the message says where it stopped and where to look."""
