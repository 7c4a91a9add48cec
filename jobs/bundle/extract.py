"""Safe extraction of bundles and uploads, and turning an upload into the canonical tar.

Safety comes from how files are written, not only from checking names:
* everything goes into a fresh private folder beside `dest`, renamed onto `dest` only when the whole
  archive was accepted; on any refusal that folder is removed, so `dest` never holds a partial bundle;
* folders are created by us, files with O_CREAT|O_EXCL|O_NOFOLLOW, and symlinks only after every file
  is written, so no write can pass through a link; an entry below a symlink is refused;
* limits (`BundleLimits`) count bytes actually written and objects actually created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from jobs.bundle.entries import ArchiveEntry, EntryKind, Readable, Writable
from jobs.bundle.errors import ArchiveLimitExceeded, BundleError, UnsafeArchive
from jobs.bundle.limits import DEFAULT_LIMITS, BundleLimits, format_bytes
from jobs.bundle.pack import pack_directory
from jobs.bundle.paths import NameProblem, check_link_target
from jobs.bundle.readers import iter_archive
from jobs.bundle.tarformat import DIR_MODE, EXEC_MODE, FILE_MODE
from jobs.manifest import MANIFEST_FILENAME

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class ExtractSummary:
    """What an extraction created."""

    files: int
    directories: int
    symlinks: int
    total_bytes: int


class _Tree:
    """The tree being written under `root`, with the checks that need to know all of it.

    Every entry is checked and counted against the limits; with `select`, only the chosen entries (and
    the folders above them) are written, so a partial extraction refuses exactly what a full one does.
    """

    def __init__(self, root: Path, limits: BundleLimits, select: Callable[[str], bool] | None = None) -> None:
        self.root = root
        self.limits = limits
        self.select = select
        self.kinds: dict[str, EntryKind] = {"": EntryKind.DIRECTORY}
        self.explicit: set[str] = set()
        self.links: list[tuple[str, str, bool]] = []  # (path, target, written)
        self.made: set[str] = {""}  # folders created on disk
        self.total_bytes = 0  # read from the archive: what the limits count
        self.files = 0
        self.written_bytes = 0

    def _count(self, path: str) -> None:
        if len(self.kinds) - 1 >= self.limits.max_files:
            raise ArchiveLimitExceeded(
                path,
                "max_files",
                self.limits.max_files,
                len(self.kinds),
                f"more than {self.limits.max_files} files, folders and links",
            )

    def _parents(self, path: str) -> None:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            kind = self.kinds.get(parent)
            if kind is EntryKind.DIRECTORY:
                continue
            if kind is EntryKind.SYMLINK:
                raise UnsafeArchive(
                    path, f"its parent {parent!r} is a symlink; nothing may be written through a link"
                )
            if kind is EntryKind.FILE:
                raise UnsafeArchive(path, f"its parent {parent!r} is a file")
            self._count(parent)
            self.kinds[parent] = EntryKind.DIRECTORY

    def _make(self, folder: str) -> None:
        """Create `folder` (a known folder) and those above it, where not made yet."""
        parts = folder.split("/") if folder else []
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if path not in self.made:
                os.mkdir(self.root / path, DIR_MODE)
                self.made.add(path)

    def add(self, entry: ArchiveEntry) -> None:
        path = entry.path
        if not path:
            if entry.kind is not EntryKind.DIRECTORY:
                raise UnsafeArchive(".", "the archive root must be a folder")
            return
        if path in self.explicit:
            raise UnsafeArchive(path, "duplicate entry: the archive holds this path more than once")
        self._parents(path)
        existing = self.kinds.get(path)
        self.explicit.add(path)
        wanted = self.select is None or self.select(path)
        if existing is not None:
            if existing is EntryKind.DIRECTORY and entry.kind is EntryKind.DIRECTORY:
                if wanted:
                    self._make(path)  # the folder was implied by an earlier path
                return
            raise UnsafeArchive(path, "duplicate entry: a folder of this name is implied by an earlier path")
        self._count(path)
        self.kinds[path] = entry.kind
        if entry.kind is EntryKind.DIRECTORY:
            if wanted:
                self._make(path)
            return
        if wanted:
            self._make(path.rpartition("/")[0])
        if entry.kind is EntryKind.SYMLINK:
            # Created last, once no file remains to be written.
            self.links.append((path, entry.link_target, wanted))
        else:
            self._write_file(entry, wanted)

    def _write_file(self, entry: ArchiveEntry, wanted: bool) -> None:
        """Write the entry's data, or (not `wanted`) read past it; either way it counts to the limits."""
        limits = self.limits
        if entry.size > limits.max_file_bytes:
            raise ArchiveLimitExceeded(
                entry.path,
                "max_file_bytes",
                limits.max_file_bytes,
                entry.size,
                f"declares {format_bytes(entry.size)}; at most "
                f"{format_bytes(limits.max_file_bytes)} per file",
            )
        assert entry.data is not None
        with self._created(entry) if wanted else contextlib.nullcontext() as handle:
            written = 0
            while chunk := entry.data.read(_CHUNK):
                written += len(chunk)
                self.total_bytes += len(chunk)
                if written > limits.max_file_bytes:
                    raise ArchiveLimitExceeded(
                        entry.path,
                        "max_file_bytes",
                        limits.max_file_bytes,
                        written,
                        f"more than {format_bytes(limits.max_file_bytes)} in one file",
                    )
                if self.total_bytes > limits.max_total_bytes:
                    raise ArchiveLimitExceeded(
                        entry.path,
                        "max_total_bytes",
                        limits.max_total_bytes,
                        self.total_bytes,
                        f"the archive holds more than {format_bytes(limits.max_total_bytes)} of data",
                    )
                if handle is not None:
                    handle.write(chunk)
        if wanted:
            self.files += 1
            self.written_bytes += written

    def _created(self, entry: ArchiveEntry) -> BinaryIO:
        descriptor = os.open(self.root / entry.path, _WRITE_FLAGS, FILE_MODE)
        handle = os.fdopen(descriptor, "wb")
        os.fchmod(handle.fileno(), EXEC_MODE if entry.executable else FILE_MODE)
        return handle

    def finish(self) -> ExtractSummary:
        def is_symlink(path: str) -> bool:
            return self.kinds.get(path) is EntryKind.SYMLINK

        for path, target, _ in self.links:
            try:
                check_link_target(path, target, is_symlink)
            except NameProblem as problem:
                raise UnsafeArchive(path, str(problem)) from None
        links = [(path, target) for path, target, wanted in self.links if wanted]
        for path, target in links:
            os.symlink(target, self.root / path)
        return ExtractSummary(self.files, len(self.made) - 1, len(links), self.written_bytes)


@contextlib.contextmanager
def _opened(archive: str | os.PathLike[str] | Readable) -> Iterator[Readable]:
    if isinstance(archive, str | os.PathLike):
        with open(archive, "rb") as handle:
            yield handle
    else:
        yield archive


def _check_dest(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise BundleError(f"{dest} already exists and is not an empty folder; refusing to extract over it")
    if not dest.parent.is_dir():
        raise BundleError(f"{dest.parent} is not a folder")


def extract_bundle(
    archive: str | os.PathLike[str] | Readable,
    dest: str | os.PathLike[str],
    limits: BundleLimits | None = None,
    *,
    select: Callable[[str], bool] | None = None,
) -> ExtractSummary:
    """Extract a tar, tar.gz or zip (a path or a binary stream) to `dest`, all or nothing.

    `dest` must not exist or be an empty folder. Refusals raise `UnsafeArchive` (naming the entry),
    `ArchiveLimitExceeded` (a subclass) or `InvalidArchive`; `dest` is then left as it was.
    Files get mode 0o644 or 0o755 (any execute bit in the archive), folders 0o755; symlinks are kept
    when they resolve inside `dest` (see `paths.check_link_target`). A zip read from a non-seekable
    stream is first copied to an anonymous temporary file beside `dest`.

    `select(path)` (the entry's '/'-separated path) picks the entries to write, with the folders above
    them: a validator reads a few of a result's thousand checkpoints. The others are still read, checked
    and counted (a stream cannot skip them, and what a full extraction refuses is refused all the same),
    but nothing of them is created; the summary counts what was.
    """
    limits = limits or DEFAULT_LIMITS
    target = Path(dest).absolute()
    _check_dest(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.extracting-", dir=target.parent))
    try:
        with (
            _opened(archive) as stream,
            contextlib.closing(iter_archive(stream, limits, spool_dir=str(target.parent))) as entries,
        ):
            tree = _Tree(staging, limits, select)
            for entry in entries:
                tree.add(entry)
            summary = tree.finish()
        os.chmod(staging, DIR_MODE)
        os.replace(staging, target)  # atomic; replaces an empty folder
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.debug("extracted %s files (%s bytes) to %s", summary.files, summary.total_bytes, target)
    return summary


def _bundle_root(folder: Path) -> Path:
    """`folder`, or its single sub-folder when the upload wrapped the job in one (`zip -r job.zip job/`)."""
    if (folder / MANIFEST_FILENAME).exists() or (folder / MANIFEST_FILENAME).is_symlink():
        return folder
    children = list(folder.iterdir())
    if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink():
        return children[0]
    return folder


def repack_upload(
    upload_stream: Readable,
    out_stream: Writable,
    limits: BundleLimits | None = None,
    *,
    work_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Turn an uploaded tar, tar.gz or zip into the canonical tar; return the bytes written.

    The upload is extracted safely (as `extract_bundle`) into a temporary folder under `work_dir`
    (default: the system temp folder), then packed with `pack_directory`, so the same job folder gives
    the same bytes, hence the same CID, whichever way it was uploaded. If the upload's root has no
    `job.toml` but a single folder, that folder is the job. Raises `ManifestError` for a missing or
    invalid `job.toml`.
    """
    with tempfile.TemporaryDirectory(prefix="crowdcompute-repack-", dir=work_dir) as scratch:
        folder = Path(scratch) / "upload"
        extract_bundle(upload_stream, folder, limits)
        return pack_directory(_bundle_root(folder), out_stream)
