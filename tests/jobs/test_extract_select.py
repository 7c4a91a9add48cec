"""Partial extraction (`extract_bundle(..., select=...)`): only the chosen entries are written, and an
archive a full extraction refuses is refused all the same, whatever is chosen."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from jobs.bundle import extract_bundle
from tests.jobs.test_hostile_bundles import CASES, member, tar_bytes


def _tree(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def test_select_writes_only_the_chosen_entries_and_the_folders_above_them(tmp_path: Path) -> None:
    archive = tar_bytes(
        member("checkpoints", kind=tarfile.DIRTYPE),
        *(member(f"checkpoints/ckpt_{i}.pt", bytes([i]) * 100) for i in range(10)),
        member("checkpoints/manifest.json", b"{}"),
        member("logs/run.txt", b"a log"),
        member("latest", kind=tarfile.SYMTYPE, linkname="checkpoints/ckpt_9.pt"),
        member("model.pt", b"weights"),
    )
    wanted = {"checkpoints/ckpt_3.pt", "checkpoints/manifest.json", "model.pt"}

    summary = extract_bundle(io.BytesIO(archive), tmp_path / "result", select=wanted.__contains__)

    assert _tree(tmp_path / "result") == wanted | {"checkpoints"}
    assert (tmp_path / "result" / "checkpoints" / "ckpt_3.pt").read_bytes() == bytes([3]) * 100
    assert (tmp_path / "result" / "model.pt").read_bytes() == b"weights"
    assert (summary.files, summary.directories, summary.symlinks) == (3, 1, 0)
    assert summary.total_bytes == 100 + 2 + 7
    assert os.listdir(tmp_path) == ["result"], "no staging folder may be left behind"


def test_select_everything_gives_the_full_tree(tmp_path: Path) -> None:
    archive = tar_bytes(
        member("a/b/c.txt", b"c"),
        member("a/d", kind=tarfile.DIRTYPE),
        member("link", kind=tarfile.SYMTYPE, linkname="a/b/c.txt"),
    )
    full = extract_bundle(io.BytesIO(archive), tmp_path / "full")
    chosen = extract_bundle(io.BytesIO(archive), tmp_path / "chosen", select=lambda _path: True)

    assert _tree(tmp_path / "full") == _tree(tmp_path / "chosen") == {"a", "a/b", "a/b/c.txt", "a/d", "link"}
    assert full == chosen
    assert (tmp_path / "chosen" / "link").read_bytes() == b"c"


@pytest.mark.parametrize("name", list(CASES))
def test_select_nothing_still_refuses_what_a_full_extraction_refuses(name: str, tmp_path: Path) -> None:
    """Unchosen entries are read, checked and counted: a validator that extracts a few checkpoints of a
    result judges the same archives unusable as a requester who extracts all of it."""
    case = CASES[name]
    dest = tmp_path / "landing" / "result"
    dest.parent.mkdir()
    with pytest.raises(case.error) as caught:
        extract_bundle(io.BytesIO(case.build()), dest, case.limits, select=lambda _path: False)
    assert caught.match(case.message), str(caught.value)
    assert os.listdir(dest.parent) == [], "a refused archive leaves nothing behind"
