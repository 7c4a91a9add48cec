"""Archives for upload tests: valid job folders and hostile ones, built in memory."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

VALID_MANIFEST = b"""name = "digits-mlp"
[runtime]
image = "python:3.11-slim"
digest = "sha256:abababababababababababababababababababababababababababababababab"
entrypoint = ["python", "train.py"]
[resources]
cpus = 1
memory_mib = 512
disk_mib = 100
timeout_s = 600
[verification]
mode = "segments"
checkpoint_interval = 10
samples_per_validator = 2
[outputs]
max_size_mib = 10
"""

JOB_FILES = {"job.toml": VALID_MANIFEST, "train.py": b"print('training')\n", "data/x.csv": b"1,2,3\n" * 100}


def tar_gz(files: dict[str, bytes], *, mtime: int = 1_700_000_000) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_with(member: tarfile.TarInfo, data: bytes = b"", extra: dict[str, bytes] | None = None) -> bytes:
    """A tar.gz holding a valid job plus one crafted member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in (extra if extra is not None else JOB_FILES).items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        member.size = len(data) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def zeros_bomb(size: int = 64 * 1024 * 1024) -> bytes:
    """A tar.gz whose one file is `size` zero bytes: a compression ratio in the thousands."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as gz:
        header = tarfile.TarInfo("zeros.bin")
        header.size = size
        gz.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        chunk = bytes(1024 * 1024)
        for _ in range(size // len(chunk)):
            gz.write(chunk)
        gz.write(bytes(1024))  # end of archive
    return buffer.getvalue()


HOSTILE = {
    "path traversal": lambda: tar_with(_member("../escape.txt"), b"x"),
    "absolute path": lambda: tar_with(_member("/etc/cron.d/evil"), b"x"),
    "symlink out of the root": lambda: tar_with(_member("link", tarfile.SYMTYPE, "/etc/passwd")),
    "hard link out of the root": lambda: tar_with(_member("hard", tarfile.LNKTYPE, "../../etc/passwd")),
    "device file": lambda: tar_with(_member("dev", tarfile.CHRTYPE)),
    "compression bomb": zeros_bomb,
    "not an archive": lambda: b"this is not a tar, a tar.gz or a zip file " * 10,
    "truncated archive": lambda: tar_gz(JOB_FILES)[:200],
}
