"""jobs/bundle/output.py: a result folder packs to the same bytes whatever its files' times; what is not a
regular file or folder is skipped and named; a missing folder packs to an empty archive."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from jobs.bundle import pack_output


def test_pack_output_is_a_pure_function_of_the_folder(tmp_path: Path) -> None:
    def build(root: Path, mtime: int) -> Path:
        (root / "checkpoints").mkdir(parents=True)
        (root / "checkpoints" / "c0.bin").write_bytes(b"c0")
        (root / "model.bin").write_bytes(b"m" * 3000)
        (root / "run.sh").write_text("#!/bin/sh\n")
        (root / "run.sh").chmod(0o755)
        (root / "escape").symlink_to("/etc/passwd")
        for path in root.rglob("*"):
            if not path.is_symlink():
                os.utime(path, (mtime, mtime))
        return root

    first = pack_output(build(tmp_path / "a", 1_000), tmp_path / "a.tar")
    second = pack_output(build(tmp_path / "b", 2_000_000), tmp_path / "b.tar")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.files == 3 and first.skipped == ("escape: not a regular file or folder",)
    with tarfile.open(first.path) as tar:
        assert tar.getnames() == ["checkpoints", "checkpoints/c0.bin", "model.bin", "run.sh"]
        assert tar.getmember("run.sh").mode == 0o755 and tar.getmember("model.bin").mtime == 0
        assert tar.extractfile("model.bin").read() == b"m" * 3000  # type: ignore[union-attr]
    empty = pack_output(tmp_path / "missing", tmp_path / "empty.tar")
    assert empty.path.read_bytes() == bytes(1024)
    with tarfile.open(fileobj=io.BytesIO(empty.path.read_bytes())) as tar:
        assert tar.getnames() == []
