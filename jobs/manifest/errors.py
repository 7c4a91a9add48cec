"""What is wrong with a manifest: `ManifestProblem`s (field, value, what is allowed) in a `ManifestError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from jobs.errors import JobsError


class _NoValue:
    """Stands in for the value of a problem that has none (a missing field, unparsable TOML)."""

    def __repr__(self) -> str:
        return "<missing>"


class _Redacted:
    """Stands in for a value that must not be echoed back (it looks like a secret)."""

    def __repr__(self) -> str:
        return "<redacted>"


MISSING: Any = _NoValue()
REDACTED: Any = _Redacted()

_MAX_VALUE_REPR = 80


class ManifestProblem(NamedTuple):
    """One thing wrong with a manifest: where (dotted field path), what was given, what is allowed."""

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        if self.value is MISSING:
            return f"{self.field}: {self.message}"
        shown = repr(self.value)
        if len(shown) > _MAX_VALUE_REPR:
            shown = shown[: _MAX_VALUE_REPR - 3] + "..."
        return f"{self.field}: {shown} is not allowed; {self.message}"


class ManifestError(JobsError, ValueError):
    """A manifest that cannot be accepted; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[ManifestProblem]) -> None:
        self.problems: list[ManifestProblem] = list(problems)
        super().__init__(self.problems)

    @classmethod
    def single(cls, field: str, value: object, message: str) -> ManifestError:
        return cls([ManifestProblem(field, value, message)])

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"the manifest has {len(self.problems)} problems:\n{lines}"
