"""Packing job folders into the canonical tar, extracting it back, and repacking uploads."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import stat
import subprocess
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.bundle import (
    ArchiveLimitExceeded,
    BundleError,
    BundleLimits,
    BundleSourceError,
    ExtractSummary,
    extract_bundle,
    pack_directory,
    packed_size,
    repack_upload,
)
from jobs.bundle.tarformat import BLOCK, file_header
from jobs.errors import JobsError
from jobs.manifest import ManifestError

# Inline rather than read from fixtures/, so that editing the fixture cannot move GOLDEN_SHA256.
MANIFEST = b"""name = "tree-job"

[runtime]
image = "python:3.11-slim"
digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
entrypoint = ["sh", "run.sh"]

[resources]
cpus = 1
memory_mib = 512
disk_mib = 256
timeout_s = 600

[verification]
mode = "replicate"

[outputs]
max_size_mib = 64
"""

# A job folder as (path, content or None for a folder or ("->", target) for a symlink, mode).
TREE: list[tuple[str, bytes | tuple[str, str] | None, int]] = [
    ("job.toml", MANIFEST, 0o644),
    ("train.py", b"print('training')\n", 0o644),
    ("run.sh", b"#!/bin/sh\nexec python train.py\n", 0o755),
    ("data", None, 0o755),
    ("data/train.csv", b"x,y\n" + b"1,2\n" * 1000, 0o644),
    ("data/nested", None, 0o755),
    ("data/nested/deep.bin", bytes(range(256)) * 40, 0o600),
    ("data/latest", ("->", "nested/deep.bin"), 0o777),
    ("empty", None, 0o700),
    ("a-b.txt", b"dash sorts before slash\n", 0o644),
    ("B.txt", b"upper case sorts first\n", 0o644),
    ("caf\u00e9.txt", b"non-ASCII name\n", 0o644),
    ("long/" + "n" * 120 + ".txt", b"a path over 100 bytes needs a PAX header\n", 0o644),
]

# sha256 of the canonical tar of TREE. It pins the format: a change in any header byte (field layout,
# PAX use, ordering, padding) changes it, whatever the Python version or machine.
GOLDEN_SHA256 = "f75cf5edab73996d5c375e59c7729700b64de4a1301342fb1a5004b4213bcc14"


def build_tree(
    root: Path, order: Iterator[int] | None = None, mtime: int = 1_700_000_000, mode_mask: int = 0o7777
) -> Path:
    root.mkdir(parents=True)
    indexes = list(order) if order is not None else list(range(len(TREE)))
    pending = [TREE[index] for index in indexes]
    # folders first (any order among them), so that reversed orders still find their parents
    for path, content, mode in sorted(pending, key=lambda item: item[1] is not None):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.mkdir(exist_ok=True)
            os.chmod(target, mode & mode_mask)
        elif isinstance(content, tuple):
            target.symlink_to(content[1])
        else:
            target.write_bytes(content)
            os.chmod(target, mode & mode_mask)
    for path, content, _ in pending:
        if not isinstance(content, tuple):
            os.utime(root / path, (mtime, mtime))
    return root


def pack(folder: Path, limits: BundleLimits | None = None) -> bytes:
    out = io.BytesIO()
    written = pack_directory(folder, out, limits)
    assert written == len(out.getvalue())
    return out.getvalue()


def tree_of(root: Path) -> dict[str, object]:
    """What a folder holds, for comparisons: content and mode of files, targets of links."""
    result: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            relative = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                result[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                result[relative] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                result[relative] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return result


@pytest.fixture
def job(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "job")


# --- determinism --------------------------------------------------------------------------------------


def test_pack_same_folder_twice_identical_bytes_despite_umask_times_and_creation_order(
    tmp_path: Path,
) -> None:
    first = build_tree(tmp_path / "one" / "job", mtime=1_000)
    old_umask = os.umask(0o077)
    try:
        second = build_tree(
            tmp_path / "elsewhere" / "two", order=reversed(range(len(TREE))), mtime=2_000_000, mode_mask=0o700
        )
    finally:
        os.umask(old_umask)
    (second / "train.py").chmod(0o664)  # group-writable: still stored as 0o644
    (second / "run.sh").chmod(0o500)  # any execute bit: stored as 0o755
    assert stat.S_IMODE((second / "data" / "train.csv").stat().st_mode) != stat.S_IMODE(
        (first / "data" / "train.csv").stat().st_mode
    )
    one, two = pack(first), pack(second)
    assert one == two
    assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()


def test_pack_golden_digest_pins_the_format(job: Path) -> None:
    assert hashlib.sha256(pack(job)).hexdigest() == GOLDEN_SHA256


def test_pack_headers_zeroed_owners_times_and_normalised_modes(job: Path) -> None:
    os.chmod(job / "train.py", 0o4711)  # setuid and execute-only: stored as a plain executable
    with tarfile.open(fileobj=io.BytesIO(pack(job))) as archive:
        members = {member.name: member for member in archive.getmembers()}
    for member in members.values():
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
    assert members["train.py"].mode == 0o755
    assert members["run.sh"].mode == 0o755
    assert members["data/nested/deep.bin"].mode == 0o644  # was 0o600
    assert members["job.toml"].mode == 0o644
    assert members["empty"].mode == 0o755  # was 0o700
    assert members["data"].isdir()
    assert members["data/latest"].issym() and members["data/latest"].linkname == "nested/deep.bin"


def test_pack_order_sorted_component_by_component(job: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(pack(job))) as archive:
        names = archive.getnames()
    assert names == [
        "B.txt",
        "a-b.txt",
        "caf\u00e9.txt",
        "data",
        "data/latest",
        "data/nested",
        "data/nested/deep.bin",
        "data/train.csv",
        "empty",
        "job.toml",
        "long",
        "long/" + "n" * 120 + ".txt",
        "run.sh",
        "train.py",
    ]


def test_pack_ends_with_two_zero_blocks_and_no_record_padding(job: Path) -> None:
    data = pack(job)
    assert data.endswith(bytes(2 * BLOCK))
    assert len(data) % BLOCK == 0
    assert not data[: -2 * BLOCK].endswith(bytes(BLOCK))


def test_packed_size_matches_bytes_written(job: Path) -> None:
    assert packed_size(job) == len(pack(job))


def test_pack_streams_files_in_bounded_chunks(tmp_path: Path) -> None:
    folder = build_tree(tmp_path / "job")
    (folder / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 5))

    class Recorder:
        def __init__(self) -> None:
            self.largest = 0
            self.total = 0

        def write(self, data: bytes) -> int:
            self.largest = max(self.largest, len(data))
            self.total += len(data)
            return len(data)

    recorder = Recorder()
    pack_directory(folder, recorder)
    assert recorder.total == packed_size(folder)
    assert recorder.largest <= 1024 * 1024


def test_file_header_size_of_8_gib_or_more_goes_to_a_pax_record() -> None:
    header = file_header("huge.bin", 8 * 1024**3, executable=False)
    assert b" size=8589934592\n" in header
    assert header[-BLOCK:][124:136] == b"00000000000\x00"


# --- readable by other tools, and round trip ----------------------------------------------------------


def test_canonical_tar_read_by_gnu_tar(job: Path, tmp_path: Path) -> None:
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    archive = tmp_path / "bundle.tar"
    archive.write_bytes(pack(job))
    out = tmp_path / "gnu"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(out)], check=True, capture_output=True)
    assert (out / "data" / "nested" / "deep.bin").read_bytes() == (
        job / "data" / "nested" / "deep.bin"
    ).read_bytes()
    assert os.readlink(out / "data" / "latest") == "nested/deep.bin"
    assert pack(out) == archive.read_bytes()


def test_round_trip_pack_extract_pack_same_tree_and_bytes(job: Path, tmp_path: Path) -> None:
    data = pack(job)
    dest = tmp_path / "extracted"
    summary = extract_bundle(io.BytesIO(data), dest)
    assert summary == ExtractSummary(files=9, directories=4, symlinks=1, total_bytes=summary.total_bytes)
    assert summary.total_bytes == sum(len(content) for _, content, _ in TREE if isinstance(content, bytes))
    expected = tree_of(job)
    expected["empty"] = ("dir", 0o755)
    expected["data/nested/deep.bin"] = ("file", 0o644, bytes(range(256)) * 40)
    assert tree_of(dest) == expected
    assert pack(dest) == data


def test_extract_from_path_into_existing_empty_folder(job: Path, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.tar"
    archive.write_bytes(pack(job))
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_bundle(archive, dest)
    assert (dest / "job.toml").read_bytes() == MANIFEST


def test_extract_into_non_empty_folder_refused_and_left_alone(job: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not an empty folder"):
        extract_bundle(io.BytesIO(pack(job)), dest)
    assert sorted(os.listdir(dest)) == ["keep.txt"]
    assert sorted(os.listdir(tmp_path)) == ["dest", "job"]


# --- uploads: tar, tar.gz and zip give the same canonical bytes ------------------------------------------


def tar_upload(folder: Path, compress: bool = False, prefix: str = "") -> bytes:
    """A tar as a user's tools make it: GNU format, real owners and times, whatever order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for path in sorted(folder.rglob("*"), reverse=True):
            info = archive.gettarinfo(str(path), arcname=prefix + path.relative_to(folder).as_posix())
            info.uid, info.gid, info.uname, info.gname, info.mtime = 1000, 1000, "alice", "staff", 1_234_567
            if info.isfile():
                with path.open("rb") as handle:
                    archive.addfile(info, handle)
            else:
                archive.addfile(info)
    return gzip.compress(buffer.getvalue()) if compress else buffer.getvalue()


def zip_upload(folder: Path, prefix: str = "", with_dirs: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            name = prefix + path.relative_to(folder).as_posix()
            info_stat = path.lstat()
            if path.is_symlink():
                info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, os.readlink(path))
            elif path.is_dir():
                if with_dirs:
                    archive.write(path, name)
            else:
                info = zipfile.ZipInfo(name, (2021, 6, 1, 12, 0, 0))
                info.create_system = 3
                info.external_attr = info_stat.st_mode << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


class NonSeekable(io.RawIOBase):
    """An upload that can only be read forward, like a network body."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any, /) -> int:
        chunk = self._inner.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def repack(upload: bytes | io.RawIOBase, tmp_path: Path) -> bytes:
    out = io.BytesIO()
    stream = io.BytesIO(upload) if isinstance(upload, bytes) else upload
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    repack_upload(stream, out, work_dir=work)
    assert os.listdir(work) == []  # the scratch folder is gone
    return out.getvalue()


@pytest.mark.parametrize(
    "make_upload",
    [
        pytest.param(lambda folder: tar_upload(folder), id="tar"),
        pytest.param(lambda folder: tar_upload(folder, compress=True), id="tar.gz"),
        pytest.param(lambda folder: tar_upload(folder, prefix="./"), id="tar-dot-prefix"),
        pytest.param(lambda folder: tar_upload(folder, prefix="my-job/"), id="tar-wrapped-in-folder"),
        pytest.param(lambda folder: zip_upload(folder), id="zip"),
        pytest.param(lambda folder: zip_upload(folder, prefix="my-job/"), id="zip-wrapped-in-folder"),
        pytest.param(lambda folder: NonSeekable(zip_upload(folder)), id="zip-non-seekable-stream"),
        pytest.param(lambda folder: NonSeekable(tar_upload(folder, compress=True)), id="tar.gz-stream"),
    ],
)
def test_repack_upload_any_upload_form_gives_the_canonical_bytes(
    make_upload: Callable[[Path], bytes | io.RawIOBase], job: Path, tmp_path: Path
) -> None:
    assert repack(make_upload(job), tmp_path) == pack(job)


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["-cf", "-", "."], id="tar-of-dot"),
        pytest.param(["-czf", "-", "."], id="tar.gz-of-dot"),
        pytest.param(["--format=posix", "-cf", "-", "."], id="pax-of-dot"),
    ],
)
def test_repack_upload_made_by_gnu_tar_gives_the_canonical_bytes(
    arguments: list[str], job: Path, tmp_path: Path
) -> None:
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    made = subprocess.run(["tar", "-C", str(job), *arguments], check=True, capture_output=True).stdout
    assert repack(made, tmp_path) == pack(job)


def test_repack_upload_zip_without_folder_entries_same_bytes_when_no_folder_is_empty(
    job: Path, tmp_path: Path
) -> None:
    (job / "empty" / "keep").write_bytes(b"")
    assert repack(zip_upload(job, with_dirs=False), tmp_path) == pack(job)


def test_repack_upload_without_manifest_refused_naming_job_toml(job: Path, tmp_path: Path) -> None:
    (job / "job.toml").unlink()
    with pytest.raises(ManifestError, match=r"^job\.toml: missing"):
        repack(zip_upload(job), tmp_path)
    assert os.listdir(tmp_path / "work") == []


def test_repack_upload_invalid_manifest_refused_naming_the_field(job: Path, tmp_path: Path) -> None:
    (job / "job.toml").write_bytes(MANIFEST.replace(b"memory_mib = 512", b"memory_mib = -1"))
    with pytest.raises(ManifestError, match=r"resources\.memory_mib: -1 is not allowed; must be >= 1"):
        repack(tar_upload(job), tmp_path)


# --- what packing refuses -----------------------------------------------------------------------------


def test_pack_without_manifest_refused(job: Path) -> None:
    (job / "job.toml").unlink()
    with pytest.raises(ManifestError, match=r"^job\.toml: missing"):
        pack(job)
    with pytest.raises(ManifestError):
        packed_size(job)


def test_pack_manifest_is_a_symlink_refused(job: Path) -> None:
    (job / "job.toml").rename(job / "real.toml")
    (job / "job.toml").symlink_to("real.toml")
    with pytest.raises(ManifestError, match="must be a regular file"):
        pack(job)


def test_pack_invalid_manifest_refused_naming_the_field(job: Path) -> None:
    (job / "job.toml").write_bytes(MANIFEST.replace(b'mode = "replicate"', b'mode = "all"'))
    with pytest.raises(ManifestError, match=r"verification\.mode: 'all' is not allowed; must be one of"):
        pack(job)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda root: os.mkfifo(root / "pipe"), "is a FIFO", id="fifo"),
        pytest.param(
            lambda root: (root / "abs").symlink_to("/etc/passwd"), "is absolute", id="absolute-link"
        ),
        pytest.param(
            lambda root: (root / "data" / "up").symlink_to("../../outside"),
            "leaves the bundle root",
            id="escaping-link",
        ),
        pytest.param(
            lambda root: ((root / "p").symlink_to("."), (root / "q").symlink_to("p/..")),
            "passes through another symlink",
            id="link-through-link",
        ),
        pytest.param(lambda root: (root / "back\\slash").write_bytes(b""), "backslash", id="backslash-name"),
        pytest.param(
            lambda root: (root / "new\nline").write_bytes(b""), "control character", id="control-char"
        ),
        pytest.param(
            lambda root: Path(os.fsdecode(bytes(root) + b"/bad\xff")).write_bytes(b""),
            "not valid UTF-8",
            id="non-utf8",
        ),
    ],
)
def test_pack_folder_with_unsupported_entry_refused_naming_it(
    make: Callable[[Path], object], message: str, job: Path
) -> None:
    make(job)
    with pytest.raises(BundleSourceError, match=message) as caught:
        pack(job)
    assert isinstance(caught.value, JobsError) and isinstance(caught.value, ValueError)


def test_pack_socket_refused(tmp_path: Path) -> None:
    folder = build_tree(tmp_path / "j")
    listener = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(folder)  # AF_UNIX paths are short; bind relative to the folder
    try:
        listener.bind("sock")
        with pytest.raises(BundleSourceError, match=r"'sock': is a socket"):
            pack(folder)
    finally:
        os.chdir(cwd)
        listener.close()


def test_pack_symlink_to_folder_stored_as_link_not_followed(job: Path) -> None:
    (job / "alias").symlink_to("data")
    with tarfile.open(fileobj=io.BytesIO(pack(job))) as archive:
        names = archive.getnames()
    assert "alias" in names and not any(name.startswith("alias/") for name in names)


def test_pack_hard_linked_files_stored_as_two_files(job: Path) -> None:
    os.link(job / "train.py", job / "copy.py")
    with tarfile.open(fileobj=io.BytesIO(pack(job))) as archive:
        copy = archive.getmember("copy.py")
        data = archive.extractfile(copy)
        assert copy.isfile() and data is not None and data.read() == b"print('training')\n"


def test_pack_with_limits_refuses_large_folders_before_reading_them(job: Path) -> None:
    with pytest.raises(ArchiveLimitExceeded) as caught:
        pack(job, BundleLimits(max_total_bytes=1000))
    assert caught.value.limit == "max_total_bytes"
    with pytest.raises(ArchiveLimitExceeded) as caught:
        pack(job, BundleLimits(max_files=3))
    assert caught.value.limit == "max_files"


def test_gzip_upload_of_canonical_tar_extracts_to_same_tree(job: Path, tmp_path: Path) -> None:
    data = pack(job)
    extract_bundle(io.BytesIO(gzip.compress(data)), tmp_path / "out")
    assert pack(tmp_path / "out") == data
