"""Rules for names inside a bundle, shared by packing and extraction so both accept the same trees.

A member path is relative, '/'-separated, valid UTF-8, without NUL, control characters or backslashes,
without '..' components, at most `MAX_PATH_BYTES` long with components of at most `MAX_NAME_BYTES`.
'.' and empty components are dropped ('./a//b' is 'a/b'), so `tar -C folder -cf x.tar .` reads as expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from jobs.bundle.errors import BundleError

MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
MAX_LINK_TARGET_BYTES = 1024

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NameProblem(BundleError, ValueError):
    """A name breaks a rule; the caller turns it into its own error naming the entry."""


def shown(raw: bytes | str) -> str:
    """A printable form of a name for messages: bad bytes as escapes, never a decoding error."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "backslashreplace")
    return raw.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NameProblem("name is not valid UTF-8") from None


def _check_characters(text: str) -> None:
    if "\x00" in text:
        raise NameProblem("name contains a NUL byte")
    if _CONTROL.search(text):
        raise NameProblem("name contains a control character")
    if "\\" in text:
        raise NameProblem("name contains a backslash (paths use '/')")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NameProblem("name is not valid UTF-8") from None


def member_path(name: str) -> str:
    """The normalised relative path of an archive entry; '' for the root itself. Raises `NameProblem`."""
    _check_characters(name)
    if name.startswith("/"):
        raise NameProblem("absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise NameProblem("path has a '..' component")
    path = "/".join(parts)
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise NameProblem(f"path is longer than {MAX_PATH_BYTES} bytes")
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in parts):
        raise NameProblem(f"a path component is longer than {MAX_NAME_BYTES} bytes")
    return path


def check_link_target(link_path: str, target: str, is_symlink: Callable[[str], bool]) -> str:
    """Check that symlink `link_path` -> `target` resolves inside the root; return the resolved path.

    The target must be relative. It is walked from the link's folder: '..' may not climb above the root,
    and no component before the last may itself be a symlink, so that the lexical walk is the walk the
    kernel makes (a link followed by '..' could otherwise land anywhere). The last component may be a
    link: it is checked on its own, so a chain of checked links stays inside too.
    """
    if not target:
        raise NameProblem("symlink has an empty target")
    _check_characters(target)
    if len(target.encode("utf-8")) > MAX_LINK_TARGET_BYTES:
        raise NameProblem(f"symlink target is longer than {MAX_LINK_TARGET_BYTES} bytes")
    if target.startswith("/"):
        raise NameProblem(f"symlink target {target!r} is absolute; only relative links inside the bundle")
    stack = link_path.split("/")[:-1]
    parts = [part for part in target.split("/") if part not in ("", ".")]
    for index, part in enumerate(parts):
        if part == "..":
            if not stack:
                raise NameProblem(f"symlink target {target!r} leaves the bundle root")
            stack.pop()
            continue
        stack.append(part)
        if index < len(parts) - 1 and is_symlink("/".join(stack)):
            raise NameProblem(
                f"symlink target {target!r} passes through another symlink ({'/'.join(stack)!r})"
            )
    return "/".join(stack)
