"""Step 3, the root filesystem: the skeleton (/etc, /tmp, ...), this machine's Python moved to /usr/local
with its standard library trimmed, and the tree copying (hard links where possible) the other steps use."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from runtime.offline.files import rel
from runtime.offline.libraries import libpython_of
from runtime.offline.spec import IMAGE_PREFIX, RUNTIME_UID, HostPython, image_path_for

# Parts of the standard library a training job never needs: tests, GUI, packaging, the static library.
STDLIB_DROP_TOP = frozenset(
    {
        "site-packages",
        "test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "turtle.py",
        "ensurepip",
        "lib2to3",
        "pydoc_data",
        "venv",
    }
)
TEST_DIRS = frozenset({"test", "tests", "idle_test"})


def stage_skeleton(root: Path) -> None:
    for folder in ("etc", "tmp", "input", "output", "proc", "sys", "dev", "run", "var/tmp", "usr/local/bin"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "var/tmp").chmod(0o1777)
    # Mirror the host's merged-/usr links (lib -> usr/lib, ...): binaries name their loader by those paths.
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            (root / name).symlink_to(os.readlink(host))
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
        f"nobody:x:{RUNTIME_UID}:{RUNTIME_UID}:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (root / "etc/group").write_text(f"root:x:0:\nnogroup:x:{RUNTIME_UID}:\n")
    (root / "etc/nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")


def stage_python(root: Path, python: HostPython) -> Path | None:
    """The interpreter, libpython and the standard library, moved to /usr/local; returns libpython."""
    bin_dir = root / rel(IMAGE_PREFIX / "bin")
    binary = bin_dir / f"python{python.version}"
    link_or_copy(python.executable, binary)
    for alias in ("python3", "python"):
        (bin_dir / alias).symlink_to(binary.name)
    libpython = libpython_of(python.executable)
    if libpython is not None:
        link_or_copy(libpython, root / rel(image_path_for(libpython, python)))

    def skip(relative: PurePosixPath, is_dir: bool) -> bool:
        if len(relative.parts) == 1 and (
            relative.name in STDLIB_DROP_TOP or relative.name.startswith("config-")
        ):
            return True
        if is_dir and relative.name in TEST_DIRS:
            return True
        return skip_pycache(relative, is_dir) or relative.name.startswith(("_test", "_tkinter"))

    copy_tree(python.stdlib, root / rel(python.image_stdlib), skip)
    (root / rel(python.image_site)).mkdir(parents=True, exist_ok=True)
    return libpython


def skip_pycache(relative: PurePosixPath, is_dir: bool) -> bool:
    return (is_dir and relative.name == "__pycache__") or relative.suffix in (".pyc", ".pyo")


def copy_tree(source: Path, target: Path, skip: Callable[[PurePosixPath, bool], bool]) -> None:
    """Copy `source` to `target`, hard-linking files where possible (cheap, same bytes, same mtime)."""
    for folder, dirs, files in os.walk(source):
        relative_dir = PurePosixPath(os.path.relpath(folder, source))
        here = target / relative_dir
        here.mkdir(parents=True, exist_ok=True)
        keep = []
        for name in dirs:
            relative = relative_dir / name if str(relative_dir) != "." else PurePosixPath(name)
            full = Path(folder) / name
            if skip(relative, True):
                continue
            if full.is_symlink():
                _copy_link(full, here / name)
            else:
                keep.append(name)
        dirs[:] = keep
        for name in files:
            relative = relative_dir / name if str(relative_dir) != "." else PurePosixPath(name)
            if skip(relative, False):
                continue
            full = Path(folder) / name
            if full.is_symlink():
                _copy_link(full, here / name)
            else:
                link_or_copy(full, here / name)


def _copy_link(source: Path, target: Path) -> None:
    link = os.readlink(source)
    if not os.path.isabs(link):
        target.symlink_to(link)
    elif source.is_file():
        # An absolute link (Debian's sitecustomize.py -> /etc/...) would name the host's file inside the
        # image: take the file itself.
        shutil.copy2(source.resolve(), target)


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
