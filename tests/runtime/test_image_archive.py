"""The reproducible image writer (runtime/offline/archive.py), without Docker: the same tree gives the same
layer bytes whatever its files' times, owners, creation order or folder, and the config's digest is the id."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from runtime.offline.archive import (
    EPOCH,
    image_config,
    image_id_of,
    layer_chunks,
    load_archive_chunks,
    measure_layer,
    normalised_mode,
)
from runtime.offline.spec import BuildError


def make_tree(root: Path, *, reverse: bool = False, mtime: int = 1_700_000_000, owner: int = 0) -> Path:
    files = [("usr/local/bin/tool", b"#!/bin/sh\n", 0o700), ("etc/hosts", b"127.0.0.1 localhost\n", 0o600)]
    files += [(f"usr/lib/python/mod{i}.py", f"x = {i}\n".encode() * 200, 0o664) for i in range(5)]
    for relative, data, mode in reversed(files) if reverse else files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    (root / "tmp").mkdir(mode=0o700)
    (root / "tmp").chmod(0o1777)
    (root / "usr/local/bin/python3").symlink_to("tool")
    for folder, dirs, names in os.walk(root):
        for name in (*dirs, *names):
            os.lchown(Path(folder) / name, owner, owner)
            if not (Path(folder) / name).is_symlink():
                os.utime(Path(folder) / name, (mtime, mtime))
    return root


def layer_bytes(root: Path) -> bytes:
    return b"".join(layer_chunks(root))


def test_the_same_tree_gives_the_same_layer_bytes_at_other_times_owners_orders_and_folders(
    tmp_path: Path,
) -> None:
    first = make_tree(tmp_path / "one")
    second = make_tree(tmp_path / "elsewhere" / "two", reverse=True, mtime=86_400, owner=65534)
    assert layer_bytes(first) == layer_bytes(second)
    assert measure_layer(first) == measure_layer(second)


def test_a_changed_byte_or_mode_changes_the_layer(tmp_path: Path) -> None:
    base = layer_bytes(make_tree(tmp_path / "base"))
    edited = make_tree(tmp_path / "edited")
    (edited / "etc/hosts").write_bytes(b"127.0.0.2 localhost\n")
    assert layer_bytes(edited) != base
    executable = make_tree(tmp_path / "executable")
    (executable / "etc/hosts").chmod(0o700)
    assert layer_bytes(executable) != base


def test_the_layer_is_a_tar_at_time_zero_owned_by_root_with_no_names_and_normalised_modes(
    tmp_path: Path,
) -> None:
    root = make_tree(tmp_path / "root", owner=65534)
    (root / "usr/local/bin/tool").chmod(0o4700)  # a set-uid bit survives the normalisation
    data = layer_bytes(root)
    assert len(data) % (20 * 512) == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names, key=lambda n: n.encode())
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(EPOCH, 0, 0, "", "")}
        modes = {m.name: m.mode for m in members}
        assert modes["etc/hosts"] == 0o644
        assert modes["usr/local/bin/tool"] == 0o4755
        assert modes["tmp"] == 0o1777 and modes["usr"] == 0o755
        link = tar.getmember("usr/local/bin/python3")
        assert link.issym() and link.linkname == "tool"
        hosts = tar.extractfile("etc/hosts")
        assert hosts is not None and hosts.read() == b"127.0.0.1 localhost\n"


def test_long_names_are_written_the_same_way_each_time(tmp_path: Path) -> None:
    deep = "a" * 60 + "/" + "b" * 60 + "/" + "c" * 60 + ".py"
    for name in ("one", "two"):
        (tmp_path / name / deep).parent.mkdir(parents=True)
        (tmp_path / name / deep).write_text("pass\n")
    assert layer_bytes(tmp_path / "one") == layer_bytes(tmp_path / "two")
    with tarfile.open(fileobj=io.BytesIO(layer_bytes(tmp_path / "one"))) as tar:
        assert deep in tar.getnames()


def test_modes_are_normalised_from_what_the_host_left() -> None:
    assert normalised_mode(0o100600) == 0o644
    assert normalised_mode(0o100775) == 0o755
    assert normalised_mode(0o102755) == 0o2755
    assert normalised_mode(0o040700) == 0o755
    assert normalised_mode(0o041777) == 0o1777


def test_the_image_id_is_the_digest_of_a_config_with_a_fixed_creation_time() -> None:
    def config(**labels: str) -> bytes:
        return image_config(
            "sha256:" + "ab" * 32,
            env={"PATH": "/usr/bin"},
            labels=labels,
            user="65534:65534",
            workdir="/tmp",
            cmd=["python3"],
            created_by="test",
        )

    one, two = config(a="1", b="2"), config(b="2", a="1")
    assert one == two
    assert image_id_of(one) == "sha256:" + hashlib.sha256(one).hexdigest()
    parsed = json.loads(one)
    assert parsed["created"] == "1970-01-01T00:00:00Z"
    assert parsed["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + "ab" * 32]}
    assert image_id_of(config(a="other")) != image_id_of(one)


def test_the_load_archive_holds_the_layer_the_config_and_a_manifest_naming_the_tag(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root")
    layer = measure_layer(root)
    config = image_config(
        layer.diff_id, env={}, labels={}, user="0:0", workdir="/", cmd=["sh"], created_by="test"
    )
    archive = b"".join(load_archive_chunks(root, layer, config, "example/image:tag"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        [manifest] = json.loads(manifest_file.read())
        assert manifest["RepoTags"] == ["example/image:tag"]
        assert manifest["Config"] == image_id_of(config).removeprefix("sha256:") + ".json"
        layer_file = tar.extractfile(manifest["Layers"][0])
        assert layer_file is not None
        assert "sha256:" + hashlib.sha256(layer_file.read()).hexdigest() == layer.diff_id


def test_a_tree_changed_between_measuring_and_loading_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "root")
    layer = measure_layer(root)
    (root / "etc/hosts").write_bytes(b"changed\n")
    with pytest.raises(BuildError):
        b"".join(load_archive_chunks(root, layer, b"{}", "example/image:tag"))
