"""The one exception the code generators raise: it names the source and what to change there."""

from __future__ import annotations


class CodegenError(Exception):
    """A layout source the generators cannot turn into views (a dynamic type, a clash, a compile error)."""
