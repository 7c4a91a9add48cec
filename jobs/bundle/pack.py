"""Packing a job folder into its canonical tar (format in `tarformat`), streaming, without following links.

Order: the canonical walk (`walk`): depth first, each folder's entries sorted by name, a folder just
before its contents. The root itself has no entry. Hard-linked files are stored as separate files.
Refused, naming the path: devices, FIFOs, sockets, symlinks that are absolute or resolve outside the
folder, names that are not valid UTF-8 or break the rules in `paths`. What the packer refuses, the
extractor refuses too, so a packed folder extracts and packs again to the same bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jobs.bundle.entries import EntryKind, Writable
from jobs.bundle.errors import ArchiveLimitExceeded, BundleSourceError
from jobs.bundle.limits import BundleLimits, format_bytes
from jobs.bundle.paths import NameProblem, check_link_target
from jobs.bundle.tarformat import END_OF_ARCHIVE, padded
from jobs.bundle.walk import FileChanged, copy_file, entry_header, walk
from jobs.manifest import MANIFEST_FILENAME, MISSING, Manifest, ManifestError, load_manifest

_REFUSED_TYPES = {
    stat.S_IFCHR: "is a character device; bundles hold only files, folders and symlinks",
    stat.S_IFBLK: "is a block device; bundles hold only files, folders and symlinks",
    stat.S_IFIFO: "is a FIFO (named pipe); bundles hold only files, folders and symlinks",
    stat.S_IFSOCK: "is a socket; bundles hold only files, folders and symlinks",
}


@dataclass(frozen=True)
class _SourceEntry:
    path: str  # relative, '/'-separated
    kind: EntryKind
    executable: bool = False
    size: int = 0
    link_target: str = ""

    def header(self) -> bytes:
        return entry_header(
            self.path, self.kind, size=self.size, executable=self.executable, target=self.link_target
        )


def read_job_manifest(root: Path) -> Manifest:
    """The manifest of a job folder: `job.toml` must be a regular file at its root and valid."""
    try:
        info = os.lstat(root / MANIFEST_FILENAME)
    except FileNotFoundError:
        raise ManifestError.single(
            MANIFEST_FILENAME, MISSING, "missing; a job folder must have job.toml at its root"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError.single(
            MANIFEST_FILENAME, MISSING, "must be a regular file (not a link or folder)"
        )
    return load_manifest(root / MANIFEST_FILENAME)


def _iter_source(root: Path, limits: BundleLimits | None) -> Iterator[_SourceEntry]:
    """The folder's entries in canonical order (`walk`), checked; never follows a symlink."""

    def is_symlink(relative: str) -> bool:
        return os.path.islink(root / relative)

    total = 0
    for count, (entry, info) in enumerate(walk(root), start=1):
        if info is None:
            raise BundleSourceError(entry.shown, entry.problem)
        path, mode = entry.path, info.st_mode
        if limits is not None and count > limits.max_files:
            raise ArchiveLimitExceeded(
                path,
                "max_files",
                limits.max_files,
                count,
                f"the folder holds more than {limits.max_files} entries",
            )
        if entry.kind is EntryKind.DIRECTORY:
            yield _SourceEntry(path, EntryKind.DIRECTORY)
        elif entry.kind is EntryKind.FILE:
            total += info.st_size
            if limits is not None:
                _check_sizes(path, info.st_size, total, limits)
            yield _SourceEntry(path, EntryKind.FILE, bool(mode & 0o111), info.st_size)
        elif entry.kind is EntryKind.SYMLINK:
            target = os.readlink(root / entry.relative)
            try:
                check_link_target(path, target, is_symlink)
            except (NameProblem, UnicodeEncodeError) as problem:
                raise BundleSourceError(path, str(problem)) from None
            yield _SourceEntry(path, EntryKind.SYMLINK, link_target=target)
        else:
            raise BundleSourceError(
                path, _REFUSED_TYPES.get(stat.S_IFMT(mode), "is not a file, folder or symlink")
            )


def _check_sizes(path: str, size: int, total: int, limits: BundleLimits) -> None:
    if size > limits.max_file_bytes:
        raise ArchiveLimitExceeded(
            path,
            "max_file_bytes",
            limits.max_file_bytes,
            size,
            f"{format_bytes(size)}; at most {format_bytes(limits.max_file_bytes)} per file",
        )
    if total > limits.max_total_bytes:
        raise ArchiveLimitExceeded(
            path,
            "max_total_bytes",
            limits.max_total_bytes,
            total,
            f"the folder holds more than {format_bytes(limits.max_total_bytes)} of data",
        )


def _copy_file(root: Path, entry: _SourceEntry, out: Writable) -> None:
    try:
        copy_file(root / entry.path, entry.size, out)
    except FileChanged as exc:
        raise BundleSourceError(entry.path, str(exc)) from None


def _job_root(src: str | os.PathLike[str]) -> Path:
    root = Path(src)
    if not root.is_dir():
        raise BundleSourceError(str(src), "not a folder")
    read_job_manifest(root)
    return root


def pack_directory(
    src: str | os.PathLike[str], out_stream: Writable, limits: BundleLimits | None = None
) -> int:
    """Write the canonical tar of job folder `src` to `out_stream`; return the bytes written.

    The folder must hold a valid `job.toml` (`ManifestError` otherwise). With `limits`, a folder past
    them is refused before its data is read. Files are streamed in 1 MiB chunks.
    """
    root = _job_root(src)
    written = 0
    for entry in _iter_source(root, limits):
        header = entry.header()
        out_stream.write(header)
        written += len(header)
        if entry.kind is EntryKind.FILE:
            _copy_file(root, entry, out_stream)
            written += padded(entry.size)
    out_stream.write(END_OF_ARCHIVE)
    return written + len(END_OF_ARCHIVE)


def packed_size(src: str | os.PathLike[str], limits: BundleLimits | None = None) -> int:
    """The exact size `pack_directory(src, ...)` will write, from file sizes alone (no data is read)."""
    root = _job_root(src)
    size = len(END_OF_ARCHIVE)
    for entry in _iter_source(root, limits):
        size += len(entry.header()) + (padded(entry.size) if entry.kind is EntryKind.FILE else 0)
    return size
