"""Step 6, the image itself, byte for byte reproducible: the staged root as one layer tar (sorted entries,
a fixed time, owner 0:0 with no names, normalised modes), an image config with a fixed `created`, and the
`docker load` archive holding both. The image id is the sha256 of that config, so the same staged tree
and config give the same id on any machine (`docker import` would stamp the time of the import).

The layer is generated twice from the tree, once to learn its digest and size (the config names its
digest, the archive's header its size) and once streamed into the engine, so it never lands on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runtime.offline.spec import BuildError

EPOCH = 0
"""The time on every tar entry and in the config (SOURCE_DATE_EPOCH style): 1970-01-01T00:00:00Z."""
CREATED = "1970-01-01T00:00:00Z"
BLOCK = 512
RECORD = 20 * BLOCK  # tar's record size: the archive ends on a record boundary, as GNU tar and Python write
CHUNK = 1 << 20
_FORMAT: Literal[1] = 1  # tarfile.GNU_FORMAT (long names as ././@LongLink entries)


def normalised_mode(mode: int) -> int:
    """The mode an entry gets in the layer: what the host's umask and copies did is forgotten.

    Directories 0755 (1777 where sticky, as /tmp); files 0755 when their owner may execute them, else
    0644; set-uid/set-gid bits are kept (the executor tests' trap binary is one)."""
    if stat.S_ISDIR(mode):
        return 0o1777 if mode & stat.S_ISVTX else 0o755
    if stat.S_ISLNK(mode):
        return 0o777
    base = 0o755 if mode & stat.S_IXUSR else 0o644
    return base | (mode & (stat.S_ISUID | stat.S_ISGID))


def _header(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(_FORMAT, "utf-8", "surrogateescape")


def _entries(root: Path) -> list[str]:
    """Every path under `root`, relative, sorted byte-wise (the order never depends on the filesystem)."""
    found = []
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        for name in (*dirs, *files):
            found.append(name if relative == "." else f"{relative}/{name}")
    return sorted(found, key=lambda path: path.encode("utf-8", "surrogateescape"))


def _file_chunks(path: Path, size: int) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as handle:
        while chunk := handle.read(min(CHUNK, size - sent)):
            sent += len(chunk)
            yield chunk
    if sent != size:
        raise BuildError(f"{path} changed size while the layer was written ({size} -> {sent} bytes)")
    if padding := -size % BLOCK:
        yield b"\0" * padding


def layer_chunks(root: Path) -> Iterator[bytes]:
    """The layer tar of the tree at `root`: the same bytes for the same names, contents, link targets and
    (normalised) modes, whatever the files' times, owners, inode order or the folder `root` is in.
    Hard links become separate files (what a file is never depends on which name staged it first)."""
    written = 0
    for name in _entries(root):
        path = root / name
        info = path.lstat()
        mode = normalised_mode(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            block = _header(name, tarfile.SYMTYPE, mode, link=os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            block = _header(name, tarfile.DIRTYPE, mode)
        elif stat.S_ISREG(info.st_mode):
            block = _header(name, tarfile.REGTYPE, mode, size=info.st_size)
        else:
            raise BuildError(f"{name} is neither a file, a folder nor a link: it cannot go into the image")
        written += len(block)
        yield block
        if stat.S_ISREG(info.st_mode):
            for chunk in _file_chunks(path, info.st_size):
                written += len(chunk)
                yield chunk
    end = 2 * BLOCK + (-(written + 2 * BLOCK) % RECORD)
    yield b"\0" * end


@dataclass(frozen=True)
class LayerDigest:
    diff_id: str  # "sha256:<hex>" of the uncompressed layer tar, as the config's rootfs names it
    size: int


def measure_layer(root: Path) -> LayerDigest:
    digest, size = hashlib.sha256(), 0
    for chunk in layer_chunks(root):
        digest.update(chunk)
        size += len(chunk)
    return LayerDigest("sha256:" + digest.hexdigest(), size)


def image_config(
    diff_id: str,
    *,
    env: Mapping[str, str],
    labels: Mapping[str, str],
    user: str,
    workdir: str,
    cmd: Sequence[str],
    created_by: str,
) -> bytes:
    """The image config as canonical JSON (sorted keys, no spaces): its sha256 is the image id."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": [f"{name}={value}" for name, value in env.items()],
            "Labels": dict(sorted(labels.items())),
            "User": user,
            "WorkingDir": workdir,
            "Cmd": list(cmd),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": CREATED, "created_by": created_by}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def image_id_of(config: bytes) -> str:
    return "sha256:" + hashlib.sha256(config).hexdigest()


def load_archive_chunks(root: Path, layer: LayerDigest, config: bytes, repo_tag: str) -> Iterator[bytes]:
    """The `docker load` archive (layer, config, manifest.json), the layer generated again from `root`;
    fails if the layer's bytes differ from what `measure_layer` saw."""
    layer_name = f"{layer.diff_id.removeprefix('sha256:')}/layer.tar"
    config_name = f"{image_id_of(config).removeprefix('sha256:')}.json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [repo_tag], "Layers": [layer_name]}], separators=(",", ":")
    ).encode()
    written = 0

    def member(name: str, data: bytes) -> bytes:
        return _header(name, tarfile.REGTYPE, 0o644, size=len(data)) + data + b"\0" * (-len(data) % BLOCK)

    folder = _header(layer_name.split("/")[0], tarfile.DIRTYPE, 0o755)
    written += len(folder)
    yield folder
    head = _header(layer_name, tarfile.REGTYPE, 0o644, size=layer.size)
    written += len(head)
    yield head
    digest, size = hashlib.sha256(), 0
    for chunk in layer_chunks(root):
        digest.update(chunk)
        size += len(chunk)
        yield chunk
    if "sha256:" + digest.hexdigest() != layer.diff_id or size != layer.size:
        raise BuildError("the staged tree changed between measuring the layer and loading it")
    written += size + (-size % BLOCK)
    yield b"\0" * (-size % BLOCK)
    for name, data in ((config_name, config), ("manifest.json", manifest)):
        block = member(name, data)
        written += len(block)
        yield block
    yield b"\0" * (2 * BLOCK + (-(written + 2 * BLOCK) % RECORD))
