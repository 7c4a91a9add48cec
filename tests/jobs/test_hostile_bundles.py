"""A corpus of hostile archives, generated here, each refused with a precise error and no trace on disk.

Every case runs twice: through `extract_bundle` and through `repack_upload`. After each refusal the
test checks that nothing was written anywhere under the test's folder (outside `dest` included), that
`dest` does not exist, and that no staging or scratch folder is left behind.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import stat
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.bundle import (
    ArchiveLimitExceeded,
    BundleError,
    BundleLimits,
    InvalidArchive,
    UnsafeArchive,
    extract_bundle,
    repack_upload,
)
from jobs.errors import JobsError

MANIFEST = (Path(__file__).parent / "fixtures" / "minimal_job" / "job.toml").read_bytes()
BOMB_BYTES = 50 * 1024 * 1024  # of zeros: about 50 KiB compressed, a ratio near 1000


# --- archive builders -----------------------------------------------------------------------------------


def member(
    name: str,
    data: bytes = b"",
    kind: bytes = tarfile.REGTYPE,
    linkname: str = "",
    pax: dict[str, str] | None = None,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if pax:
        info.pax_headers = dict(pax)
    return info, data


def tar_bytes(
    *members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT, gz: bool = False
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return gzip.compress(buffer.getvalue(), 9) if gz else buffer.getvalue()


def job_tar(*members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar with a valid job.toml first, so that only the hostile entries can be the reason to refuse."""
    return tar_bytes(member("job.toml", MANIFEST), *members, fmt=fmt)


def zip_bytes(*entries: tuple[str, bytes, int | None], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Entries as (name, data, unix mode incl. file type or None for a zip made without one)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; they are the point here
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("job.toml", MANIFEST)
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
                if mode is not None:
                    info.create_system = 3
                    info.external_attr = mode << 16
                archive.writestr(info, data, method)
    return buffer.getvalue()


def patched(data: bytes, old: bytes, new: bytes, count: int = 2) -> bytes:
    """Replace bytes the writer would not let us write (a name appears in the local and central headers)."""
    assert len(old) == len(new) and data.count(old) == count
    return data.replace(old, new)


def zip_with_flag(data: bytes, flag: int) -> bytes:
    """Set a general-purpose flag bit on every entry, in local and central headers."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = out.find(signature)
        while position >= 0:
            (flags,) = struct.unpack_from("<H", out, position + offset)
            struct.pack_into("<H", out, position + offset, flags | flag)
            position = out.find(signature, position + 4)
    return bytes(out)


@functools.cache
def zero_tar_gz() -> bytes:
    return tar_bytes(member("job.toml", MANIFEST), member("bomb.bin", bytes(BOMB_BYTES)), gz=True)


@functools.cache
def zero_zip() -> bytes:
    return zip_bytes(("bomb.bin", bytes(BOMB_BYTES), stat.S_IFREG | 0o644))


def zip_understating_size() -> bytes:
    """A zip whose headers declare a 100-byte file that really inflates to 1 MiB."""
    data = zip_bytes(("big.bin", bytes(1024 * 1024), stat.S_IFREG | 0o644))
    return patched(data, struct.pack("<I", 1024 * 1024), struct.pack("<I", 100))


MANIFEST_ENTRY_BYTES = 512 + -(-len(MANIFEST) // 512) * 512  # header and padded data of job.toml


def tar_missing_end_marker() -> bytes:
    """The archive stops right after its last entry (tarfile pads with zeros; cut those too)."""
    return job_tar()[:MANIFEST_ENTRY_BYTES]


def tar_truncated_in_data() -> bytes:
    return job_tar(member("data.bin", b"x" * 5000))[: MANIFEST_ENTRY_BYTES + 512 + 2000]


def tar_bad_checksum() -> bytes:
    data = bytearray(job_tar())
    data[0] ^= 0x01
    return bytes(data)


# --- the corpus ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    error: type[BundleError]
    message: str  # a regular expression searched in str(error)
    entry: str | None = None  # the entry the error must name
    limits: BundleLimits | None = None
    limit: str | None = None  # for ArchiveLimitExceeded: which BundleLimits field


SMALL = BundleLimits(max_total_bytes=2000, max_files=10, max_file_bytes=1000)

CASES: dict[str, Case] = {
    # paths
    "tar-absolute-path": Case(
        lambda: job_tar(member("/tmp/evil.txt", b"x")), UnsafeArchive, "absolute path", "/tmp/evil.txt"
    ),
    "zip-absolute-path": Case(
        lambda: zip_bytes(("/evil.txt", b"x", None)), UnsafeArchive, "absolute path", "/evil.txt"
    ),
    "tar-dotdot": Case(
        lambda: job_tar(member("../evil.txt", b"x")), UnsafeArchive, r"'\.\.' component", "../evil.txt"
    ),
    "tar-dotdot-nested": Case(
        lambda: job_tar(member("data/../../evil.txt", b"x")), UnsafeArchive, r"'\.\.' component"
    ),
    "zip-dotdot": Case(
        lambda: zip_bytes(("../../evil.txt", b"x", None)),
        UnsafeArchive,
        r"'\.\.' component",
        "../../evil.txt",
    ),
    "zip-backslash-traversal": Case(
        lambda: zip_bytes(("..\\..\\evil.txt", b"x", None)), UnsafeArchive, "backslash"
    ),
    # links
    "tar-symlink-absolute": Case(
        lambda: job_tar(member("etc", kind=tarfile.SYMTYPE, linkname="/etc")),
        UnsafeArchive,
        "is absolute",
        "etc",
    ),
    "tar-symlink-out": Case(
        lambda: job_tar(member("out", kind=tarfile.SYMTYPE, linkname="../../outside.txt")),
        UnsafeArchive,
        "leaves the bundle root",
        "out",
    ),
    "tar-symlink-out-nested": Case(
        lambda: job_tar(member("a/b/up", kind=tarfile.SYMTYPE, linkname="../../../x")),
        UnsafeArchive,
        "leaves the bundle root",
        "a/b/up",
    ),
    "tar-write-through-symlink": Case(
        lambda: job_tar(
            member("sub", kind=tarfile.DIRTYPE),
            member("alias", kind=tarfile.SYMTYPE, linkname="sub"),
            member("alias/evil.txt", b"x"),
        ),
        UnsafeArchive,
        "parent 'alias' is a symlink",
        "alias/evil.txt",
    ),
    "tar-symlink-through-symlink": Case(
        lambda: job_tar(
            member("p", kind=tarfile.SYMTYPE, linkname="."),
            member("q", kind=tarfile.SYMTYPE, linkname="p/.."),
        ),
        UnsafeArchive,
        "passes through another symlink",
        "q",
    ),
    "zip-symlink-out": Case(
        lambda: zip_bytes(("out", b"../../../etc/passwd", stat.S_IFLNK | 0o777)),
        UnsafeArchive,
        "leaves the bundle root",
        "out",
    ),
    "tar-hardlink-out": Case(
        lambda: job_tar(member("hl", kind=tarfile.LNKTYPE, linkname="../outside.txt")),
        UnsafeArchive,
        "hard links are not supported",
        "hl",
    ),
    "tar-hardlink-inside": Case(
        lambda: job_tar(member("hl", kind=tarfile.LNKTYPE, linkname="job.toml")),
        UnsafeArchive,
        "hard links are not supported",
        "hl",
    ),
    # special files
    "tar-char-device": Case(
        lambda: job_tar(member("null", kind=tarfile.CHRTYPE)), UnsafeArchive, "character device", "null"
    ),
    "tar-block-device": Case(
        lambda: job_tar(member("sda", kind=tarfile.BLKTYPE)), UnsafeArchive, "block device", "sda"
    ),
    "tar-fifo": Case(lambda: job_tar(member("pipe", kind=tarfile.FIFOTYPE)), UnsafeArchive, "FIFO", "pipe"),
    "zip-char-device": Case(
        lambda: zip_bytes(("null", b"", stat.S_IFCHR | 0o666)), UnsafeArchive, "character device", "null"
    ),
    "zip-fifo": Case(lambda: zip_bytes(("pipe", b"", stat.S_IFIFO | 0o644)), UnsafeArchive, "FIFO", "pipe"),
    # counts and sizes
    "tar-too-many-files": Case(
        lambda: job_tar(*(member(f"f{index}.txt", b"x") for index in range(10))),
        ArchiveLimitExceeded,
        "more than 10 files",
        "f9.txt",
        SMALL,
        "max_files",
    ),
    "tar-too-many-implied-folders": Case(
        lambda: job_tar(member("a/b/c/d/e/f/g/h/i/j/k.txt", b"x")),
        ArchiveLimitExceeded,
        "more than 10 files",
        limits=SMALL,
        limit="max_files",
    ),
    "zip-too-many-files": Case(
        lambda: zip_bytes(*((f"f{index}.txt", b"x", None) for index in range(10))),
        ArchiveLimitExceeded,
        "declares 11 entries",
        "(archive)",
        SMALL,
        "max_files",
    ),
    "tar-too-large-in-total": Case(
        lambda: tar_bytes(
            member("a.bin", b"x" * 800), member("b.bin", b"x" * 800), member("c.bin", b"x" * 800)
        ),
        ArchiveLimitExceeded,
        "more than 2.0 KiB of data",
        "c.bin",
        SMALL,
        "max_total_bytes",
    ),
    "tar-file-too-large": Case(
        lambda: tar_bytes(member("big.bin", b"x" * 1200)),
        ArchiveLimitExceeded,
        "at most 1000 bytes per file",
        "big.bin",
        SMALL,
        "max_file_bytes",
    ),
    "zip-file-too-large": Case(
        lambda: zip_bytes(("big.bin", b"x" * 1200, None)),
        ArchiveLimitExceeded,
        "at most 1000 bytes per file",
        "big.bin",
        SMALL,
        "max_file_bytes",
    ),
    "gzip-bomb": Case(zero_tar_gz, ArchiveLimitExceeded, "compression bomb", "bomb.bin", limit="max_ratio"),
    "zip-bomb": Case(zero_zip, ArchiveLimitExceeded, "compression bomb", "(archive)", limit="max_ratio"),
    "zip-understating-its-size": Case(zip_understating_size, InvalidArchive, "corrupt zip entry 'big.bin'"),
    "tar-huge-extended-header": Case(
        lambda: job_tar(member("x.txt", b"x", pax={"comment": "c" * 100_000})),
        UnsafeArchive,
        "extended header of 1000.* bytes",
    ),
    # duplicates
    "tar-duplicate-name": Case(
        lambda: job_tar(member("a.txt", b"first"), member("a.txt", b"second")),
        UnsafeArchive,
        "more than once",
        "a.txt",
    ),
    "tar-duplicate-after-normalising": Case(
        lambda: job_tar(member("a.txt", b"first"), member("./a.txt", b"second")),
        UnsafeArchive,
        "more than once",
        "a.txt",
    ),
    "tar-file-over-implied-folder": Case(
        lambda: job_tar(member("a/b.txt", b"x"), member("a", b"x")),
        UnsafeArchive,
        "implied by an earlier path",
        "a",
    ),
    "tar-duplicate-manifest": Case(
        lambda: job_tar(member("job.toml", b"x")), UnsafeArchive, "more than once", "job.toml"
    ),
    "zip-duplicate-name": Case(
        lambda: zip_bytes(("a.txt", b"1", None), ("a.txt", b"2", None)),
        UnsafeArchive,
        "more than once",
        "a.txt",
    ),
    # names
    "zip-nul-in-name": Case(
        lambda: patched(zip_bytes(("evil.txtXjunk", b"x", None)), b"evil.txtXjunk", b"evil.txt\x00junk"),
        UnsafeArchive,
        "NUL byte",
        "evil.txt\x00junk",
    ),
    "tar-nul-in-name": Case(
        lambda: job_tar(member("x", b"x", pax={"path": "evil.txt\x00junk"})), UnsafeArchive, "NUL byte"
    ),
    "tar-invalid-utf8-name": Case(
        lambda: job_tar(member("bad\udcff.txt", b"x"), fmt=tarfile.GNU_FORMAT),
        UnsafeArchive,
        "not valid UTF-8",
        "bad\\xff.txt",
    ),
    "zip-invalid-utf8-name": Case(
        lambda: patched(zip_bytes(("bad\u00e9.txt", b"x", None)), "\u00e9".encode(), b"\xff\xfe"),
        UnsafeArchive,
        "not valid UTF-8",
    ),
    "tar-control-character": Case(
        lambda: job_tar(member("new\nline.txt", b"x")), UnsafeArchive, "control character"
    ),
    # unsupported or broken archives
    "zip-encrypted": Case(
        lambda: zip_with_flag(zip_bytes(("secret.txt", b"x", None)), 0x1), UnsafeArchive, "encrypted"
    ),
    "zip-bzip2": Case(
        lambda: zip_bytes(("a.txt", b"x", None), method=zipfile.ZIP_BZIP2),
        UnsafeArchive,
        "compression method 12 is not supported",
        "a.txt",
    ),
    "tar-missing-end-marker": Case(tar_missing_end_marker, InvalidArchive, "end-of-archive marker"),
    "tar-truncated": Case(tar_truncated_in_data, InvalidArchive, "truncated"),
    "tar-bad-checksum": Case(tar_bad_checksum, InvalidArchive, "checksum"),
    "not-an-archive": Case(lambda: b"just some text\n" * 100, InvalidArchive, "not a tar, tar.gz or zip"),
    "gzip-of-garbage": Case(lambda: gzip.compress(b"not a tar" * 100), InvalidArchive, "not a POSIX"),
    "gzip-truncated": Case(lambda: gzip.compress(job_tar())[:-30], InvalidArchive, "corrupt gzip data"),
}


# --- the world the archive is extracted into ----------------------------------------------------------------


@dataclass
class World:
    root: Path
    dest: Path
    work: Path

    def snapshot(self) -> dict[str, bytes | str]:
        state: dict[str, bytes | str] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                relative = path.relative_to(self.root).as_posix()
                if path.is_symlink():
                    state[relative] = "link -> " + os.readlink(path)
                elif path.is_dir():
                    state[relative] = "dir"
                else:
                    state[relative] = path.read_bytes()
        return state


@pytest.fixture
def world(tmp_path: Path) -> World:
    sandbox = tmp_path / "sandbox"
    (sandbox / "landing").mkdir(parents=True)
    (sandbox / "outside.txt").write_bytes(b"must stay as it is")
    (tmp_path / "work").mkdir()
    return World(tmp_path, sandbox / "landing" / "bundle", tmp_path / "work")


def run(how: str, data: bytes, world: World, limits: BundleLimits | None) -> None:
    if how == "extract":
        extract_bundle(io.BytesIO(data), world.dest, limits)
    else:
        repack_upload(io.BytesIO(data), io.BytesIO(), limits, work_dir=world.work)


@pytest.mark.parametrize("how", ["extract", "repack"])
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_archive_refused_with_nothing_written(name: str, how: str, world: World) -> None:
    case = CASES[name]
    data = case.build()
    before = world.snapshot()
    with pytest.raises(case.error) as caught:
        run(how, data, world, case.limits)
    error = caught.value
    assert isinstance(error, JobsError) and isinstance(error, ValueError)
    assert caught.match(case.message), str(error)
    if case.entry is not None:
        assert isinstance(error, UnsafeArchive)
        assert error.entry == case.entry
        assert repr(case.entry) in str(error)
    if case.limit is not None:
        assert isinstance(error, ArchiveLimitExceeded) and error.limit == case.limit
    assert world.snapshot() == before
    assert not world.dest.exists()
    assert os.listdir(world.dest.parent) == []
    assert os.listdir(world.work) == []


def test_control_case_valid_archive_extracts_in_the_same_world(world: World) -> None:
    """The checks above see writes: a harmless archive does change the world, inside dest only."""
    before = world.snapshot()
    run(
        "extract",
        job_tar(member("data/a.txt", b"x"), member("link", kind=tarfile.SYMTYPE, linkname="data")),
        world,
        None,
    )
    after = world.snapshot()
    added = {path for path in after if path not in before}
    assert added == {
        "sandbox/landing/bundle",
        "sandbox/landing/bundle/job.toml",
        "sandbox/landing/bundle/data",
        "sandbox/landing/bundle/data/a.txt",
        "sandbox/landing/bundle/link",
    }
    assert os.listdir(world.dest.parent) == ["bundle"]


def test_gzip_bomb_refused_long_before_it_is_inflated(world: World) -> None:
    class Counted(io.BytesIO):
        taken = 0

        def read(self, size: int | None = -1, /) -> bytes:
            chunk = super().read(size)
            self.taken += len(chunk)
            return chunk

    upload = Counted(zero_tar_gz())
    with pytest.raises(ArchiveLimitExceeded) as caught:
        extract_bundle(upload, world.dest)
    assert caught.value.limit == "max_ratio"
    inflated_when_refused = caught.value.actual * upload.taken  # actual: the ratio reached
    # judged on bytes actually inflated, as they come: stopped within a chunk of 200 x compressed bytes read
    assert inflated_when_refused <= 200 * upload.taken + 1024 * 1024
    assert inflated_when_refused < BOMB_BYTES / 3


def test_bomb_accepted_under_generous_ratio_so_the_ratio_is_what_refused_it(world: World) -> None:
    extract_bundle(io.BytesIO(zero_tar_gz()), world.dest, BundleLimits(max_ratio=10_000))
    assert (world.dest / "bomb.bin").stat().st_size == BOMB_BYTES


def test_refusal_leaves_existing_empty_dest_in_place(world: World) -> None:
    world.dest.mkdir()
    with pytest.raises(UnsafeArchive):
        extract_bundle(io.BytesIO(job_tar(member("../evil.txt", b"x"))), world.dest)
    assert world.dest.is_dir() and os.listdir(world.dest) == []
    assert os.listdir(world.dest.parent) == ["bundle"]


def test_absolute_path_into_the_world_refused_and_not_created(world: World) -> None:
    target = world.root / "sandbox" / "planted.txt"
    before = world.snapshot()
    with pytest.raises(UnsafeArchive, match="absolute path"):
        extract_bundle(io.BytesIO(job_tar(member(str(target), b"planted"))), world.dest)
    assert not target.exists()
    assert world.snapshot() == before


def test_symlink_into_the_world_then_write_through_it_refused_and_not_created(world: World) -> None:
    sandbox = world.root / "sandbox"
    before = world.snapshot()
    archive = job_tar(
        member("door", kind=tarfile.SYMTYPE, linkname=str(sandbox)),
        member("door/outside.txt", b"overwritten"),
        member("door/planted.txt", b"planted"),
    )
    with pytest.raises(UnsafeArchive, match="parent 'door' is a symlink"):
        extract_bundle(io.BytesIO(archive), world.dest)
    assert (sandbox / "outside.txt").read_bytes() == b"must stay as it is"
    assert not (sandbox / "planted.txt").exists()
    assert world.snapshot() == before
