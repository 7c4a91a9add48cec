"""Sealed result trees (docs/confidential.md, "Results"): every regular file of an execution's output
replaced by its sealed stream under the same path, plus a clear `SEALED` file naming the scheme.

Each file's stream is bound to its job, attempt and path, so a file moved to another path, attempt or
job does not open. Sealing is resumable: a file that already opens with the key is left as it is, so a
provider that stopped half-way seals the rest on its next try. Opening is all or nothing: every chosen
file is opened beside itself first, and only when all authenticated are they renamed over the sealed ones.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from jobs.manifest import SEALED_SCHEME
from jobs.sealing.errors import SealingError
from jobs.sealing.stream import DEFAULT_CHUNK_LOG2, first_chunk_opens, open_stream, seal_file

MARKER = "SEALED"
MARKER_TEXT = SEALED_SCHEME + "\n"


def result_context(*, chain_id: int, job_id: int, attempt: int, path: str) -> str:
    return f"result|chain={chain_id}|job={job_id}|attempt={attempt}|path={path}"


def _files(folder: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under `folder` but the root's marker, as (posix path, path); no link followed."""
    for parent, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(parent) / name
            relative = path.relative_to(folder).as_posix()
            if relative != MARKER and stat.S_ISREG(os.lstat(path).st_mode):
                yield relative, path


def is_sealed_tree(folder: Path) -> bool:
    """Whether `folder` is a sealed result tree (its root holds the `SEALED` marker)."""
    marker = Path(folder) / MARKER
    try:
        return marker.is_file() and marker.read_text(encoding="utf-8").strip() == SEALED_SCHEME
    except (OSError, UnicodeDecodeError):
        return False


def seal_result_tree(
    folder: Path,
    result_key: bytes,
    *,
    chain_id: int,
    job_id: int,
    attempt: int,
    chunk_log2: int = DEFAULT_CHUNK_LOG2,
) -> int:
    """Seal every regular file of `folder` in place, then write the marker; return the files sealed."""
    folder = Path(folder)
    if is_sealed_tree(folder):
        return 0
    if (folder / MARKER).exists() or (folder / MARKER).is_symlink():
        raise SealingError(
            f"job {job_id}: the output holds its own {MARKER!r} file at its root; that name marks a sealed "
            "result, so the job must not write it"
        )
    sealed = 0
    for relative, path in _files(folder):
        context = result_context(chain_id=chain_id, job_id=job_id, attempt=attempt, path=relative)
        with open(path, "rb") as handle:
            already = first_chunk_opens(handle, result_key, context)
        if already:
            continue  # sealed by an earlier, interrupted try
        seal_file(path, path, result_key, context, chunk_log2=chunk_log2)
        sealed += 1
    _write_marker(folder / MARKER)
    return sealed


def _write_marker(path: Path) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{MARKER}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(MARKER_TEXT)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def open_result_tree(
    folder: Path,
    result_key: bytes,
    *,
    chain_id: int,
    job_id: int,
    attempt: int,
    select: Callable[[str], bool] | None = None,
) -> int:
    """Open the sealed files of `folder` (those `select` picks) in place; return how many.

    All or nothing: on any failure no opened file is left and `SealedDataError` names the job, the file
    and the reason. Opening every file also removes the marker; after a partial `select` it stays.
    """
    folder = Path(folder)
    if not is_sealed_tree(folder):
        raise SealingError(f"job {job_id}: {folder} is not a sealed result (no {MARKER} file at its root)")
    staged: list[tuple[str, Path]] = []
    try:
        for relative, path in _files(folder):
            if select is not None and not select(relative):
                continue
            context = result_context(chain_id=chain_id, job_id=job_id, attempt=attempt, path=relative)
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".opening", dir=path.parent)
            staged.append((temp, path))
            with open(path, "rb") as source, os.fdopen(fd, "wb") as out:
                open_stream(source, out, result_key, context, what=f"job {job_id}: result file {relative}")
            os.chmod(temp, stat.S_IMODE(os.lstat(path).st_mode))
    except BaseException:
        for temp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        raise
    for temp, path in staged:
        os.replace(temp, path)
    if select is None:
        os.unlink(folder / MARKER)
    return len(staged)
