#!/usr/bin/env python3
"""Build the CPU torch runtime image on a machine without a container registry.

    .venv/bin/python runtime/build_offline.py [--tag crowdcompute/runtime-cpu:torch2.13] [--force] [--check]

Recipe (no base image is needed, nothing is pulled):
  1. a venv under build/runtime/ with runtime/requirements.txt installed by pip from its configured
     sources (torch==2.13.0+cpu: the CPU wheel; a CUDA build is refused);
  2. a root filesystem staged under build/runtime/: this machine's Python (moved to /usr/local), its
     standard library without tests and GUI modules, the venv's site-packages, the repo's `sdk/` if
     present, the shared libraries `ldd` reports for every binary, minimal /etc files, `ldconfig -r`;
  3. `.pyc` compiled for the image's paths (the root is read-only at run time); the compiled packages
     are cached beside the venv, so a rebuild for a changed sdk/ takes about half a minute;
  4. `tar | docker import` with the image's environment and a label holding a hash of every input.

Running it again with the same inputs does nothing (the label matches); changed inputs rebuild and
remove the superseded image. Nothing host-private is copied: the staged tree is checked for home
folders, keys and password files before import. Progress goes to stderr; the last stdout line is
"<tag> <image id>", the id being the digest a job manifest pins.

With a registry, `docker build -f runtime/Dockerfile .` builds the equivalent image from python:3.11-slim.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

RECIPE_VERSION = "1"
REPO = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO / "build" / "runtime"
DEFAULT_TAG = "crowdcompute/runtime-cpu:torch2.13"
DEFAULT_REQUIREMENTS = REPO / "runtime" / "requirements.txt"
LABEL_INPUTS = "org.crowdcompute.runtime.inputs"
LABEL_RECIPE = "org.crowdcompute.runtime.recipe"
IMAGE_PREFIX = PurePosixPath("/usr/local")  # where this machine's Python lands in the image
RUNTIME_UID = 65534  # the executor runs every job as nobody

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
SITE_DROP_TOP = frozenset({"pip", "__pycache__"})
# Packages whose `tests` folders are only their own test suites (torch's are imported by torch).
SITE_TESTS_DROPPED_IN = frozenset({"numpy", "sympy", "networkx", "mpmath", "fsspec", "setuptools"})

FORBIDDEN_TOP = frozenset({"root", "home", "mnt", "media", "srv", "boot"})
FORBIDDEN_PATHS = frozenset({"etc/shadow", "etc/gshadow", "etc/sudoers", "etc/ssh", "etc/ssl/private"})
FORBIDDEN_NAMES = re.compile(
    r"(^id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$|^\.netrc$|^\.pypirc$|^\.git-credentials$|^\.ssh$|\.pem$|\.key$)"
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExtraFile:
    """A file copied into the image (never hard-linked: its mode may differ from the source's)."""

    image_path: str
    source: Path
    mode: int = 0o755


@dataclass(frozen=True)
class ImageSpec:
    """What to build. `requirements=None`: Python and its standard library only (test images)."""

    tag: str = DEFAULT_TAG
    requirements: Path | None = DEFAULT_REQUIREMENTS
    include_sdk: bool = True
    extra_files: tuple[ExtraFile, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    image_id: str
    size_bytes: int
    seconds: float
    reused: bool


class BuildError(RuntimeError):
    """The image could not be built; the message says which step and why."""


@dataclass(frozen=True)
class HostPython:
    executable: Path  # the real interpreter binary (not a venv's link)
    prefix: Path
    version: str  # "3.11"
    full_version: str
    stdlib: Path

    @classmethod
    def current(cls) -> HostPython:
        executable = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
        return cls(
            executable=executable,
            prefix=Path(sys.base_prefix),
            version=f"{sys.version_info.major}.{sys.version_info.minor}",
            full_version=platform.python_version(),
            stdlib=Path(sysconfig.get_paths()["stdlib"]),
        )

    @property
    def image_stdlib(self) -> PurePosixPath:
        return IMAGE_PREFIX / "lib" / f"python{self.version}"

    @property
    def image_site(self) -> PurePosixPath:
        return self.image_stdlib / "site-packages"


# -- the build ------------------------------------------------------------------------------------


def build_image(
    spec: ImageSpec,
    *,
    force: bool = False,
    keep_staging: bool = False,
    progress: Progress | None = None,
    client: Any = None,
) -> BuiltImage:
    """Build `spec` unless an image with the same inputs already carries its tag."""
    import docker  # the only dependency beyond the standard library

    say = progress or _stderr
    began = time.monotonic()
    python = HostPython.current()
    client = client or docker.from_env(timeout=900)

    inputs = _inputs(spec, python)
    key = _digest(json.dumps(inputs, sort_keys=True).encode())
    say(f"[1/7] inputs: Python {python.full_version} from {python.executable}; key {key[:16]}")
    existing = _existing_image(client, spec.tag)
    if existing is not None and not force and existing.labels.get(LABEL_INPUTS) == key:
        size = int(existing.attrs.get("Size") or 0)
        say(f"      {spec.tag} is up to date ({existing.id}); nothing to do")
        return BuiltImage(spec.tag, existing.id, size, time.monotonic() - began, reused=True)

    site = None
    if spec.requirements is not None:
        say("[2/7] packages: venv with " + ", ".join(_requirement_names(spec.requirements)))
        site = _compiled_site(_ensure_venv(spec.requirements, python, say), python, say)
    else:
        say("[2/7] packages: none (standard library only)")

    root = BUILD_DIR / f"rootfs-{key[:16]}"
    if root.exists():
        shutil.rmtree(root)
    try:
        step = time.monotonic()
        _stage_skeleton(root)
        libpython = _stage_python(root, python)
        if site is not None:
            _copy_tree(site, root / _rel(python.image_site), lambda relative, is_dir: False)
        if spec.include_sdk and (REPO / "sdk").is_dir():
            _copy_tree(REPO / "sdk", root / _rel(python.image_site / "sdk"), _skip_pycache)
        for extra in spec.extra_files:
            target = root / _rel(PurePosixPath(extra.image_path))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra.source, target)
            target.chmod(extra.mode)
        files, _ = _tree_size(root)
        say(f"[3/7] staged {files} files in {_since(step)}")

        step = time.monotonic()
        libraries = _stage_libraries(root, python, libpython)
        cache = _run_ldconfig(root)
        say(f"[4/7] shared libraries: {libraries} copied from ldd's answers; {cache} in {_since(step)}")

        step = time.monotonic()
        stdlib = root / _rel(python.image_stdlib)
        sdk = root / _rel(python.image_site / "sdk")
        targets = [entry for entry in sorted(stdlib.iterdir()) if entry.name != "site-packages"]
        _compile(root, python, [*targets, *([sdk] if sdk.exists() else [])])
        say(f"[5/7] .pyc compiled for the read-only root in {_since(step)}")

        _check_nothing_private(root)
        _, size = _tree_size(root)
        step = time.monotonic()
        image_id = _import(client, root, spec, python, key, size, say)
        say(f"[6/7] imported in {_since(step)}")
    finally:
        if not keep_staging:
            shutil.rmtree(root, ignore_errors=True)

    image = client.images.get(image_id)
    if existing is not None and existing.id != image.id:
        _remove_superseded(client, existing.id, say)
    seconds = time.monotonic() - began
    size_bytes = int(image.attrs.get("Size") or 0)
    _record(spec.tag, image.id, key, seconds, size_bytes)
    say(f"[7/7] {spec.tag} {image.id} ({size_bytes / 2**20:.0f} MiB) built in {seconds:.1f} s")
    return BuiltImage(spec.tag, image.id, size_bytes, seconds, reused=False)


def _inputs(spec: ImageSpec, python: HostPython) -> dict[str, Any]:
    """Everything the image's bytes depend on, for the idempotency key."""
    libpython = _libpython_of(python.executable)
    return {
        "recipe": RECIPE_VERSION,
        "builder": _file_digest(Path(__file__)),
        "python": python.full_version,
        "python_binary": _file_digest(python.executable),
        "libpython": _file_digest(libpython) if libpython else None,
        "libc": platform.libc_ver(),
        "requirements": spec.requirements.read_text() if spec.requirements else None,
        "sdk": _tree_digest(REPO / "sdk") if spec.include_sdk and (REPO / "sdk").is_dir() else None,
        "extra": [(e.image_path, e.mode, _file_digest(e.source)) for e in spec.extra_files],
        "labels": dict(spec.labels),
    }


# -- step 2: the venv -----------------------------------------------------------------------------


def _ensure_venv(requirements: Path, python: HostPython, say: Progress) -> Path:
    """A venv with `requirements` installed (reused while they and the Python stay the same)."""
    key = _digest((requirements.read_text() + python.full_version + str(python.executable)).encode())
    venv = BUILD_DIR / f"venv-{key[:16]}"
    marker = venv / ".crowdcompute-complete"
    site = venv / "lib" / f"python{python.version}" / "site-packages"
    if marker.exists():
        say(f"      reusing {_show(venv)}")
        return site
    if venv.exists():
        shutil.rmtree(venv)
    step = time.monotonic()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    _run([str(python.executable), "-m", "venv", str(venv)], "creating the venv")
    pip_log = BUILD_DIR / "pip.log"
    command = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-compile",  # compiled later, for the paths inside the image
        "--only-binary=:all:",
        "--progress-bar=off",
        "-r",
        str(requirements),
    ]
    with (
        pip_log.open("w") as log,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as pip,
    ):
        assert pip.stdout is not None
        for line in pip.stdout:
            log.write(line)
            if line.startswith(("Collecting", "Processing", "Installing", "Successfully", "ERROR")):
                say("      pip: " + line.rstrip())
    if pip.returncode != 0:
        raise BuildError(
            f"pip could not install {requirements} (see {_show(pip_log)}); torch==2.13.0+cpu must be "
            "available to pip (on this machine it is a wheel on local disk; elsewhere add "
            "--extra-index-url https://download.pytorch.org/whl/cpu to pip's configuration)"
        )
    _refuse_cuda(site)
    marker.write_text(json.dumps(sorted(_distributions(site))) + "\n")
    say(f"      installed in {_since(step)} into {_show(venv)}")
    return site


def _distributions(site: Path) -> dict[str, str]:
    found = {}
    for meta in site.glob("*.dist-info/METADATA"):
        fields = dict(
            line.split(": ", 1) for line in meta.read_text(errors="replace").splitlines()[:20] if ": " in line
        )
        found[fields.get("Name", meta.parent.name).lower()] = fields.get("Version", "?")
    return found


def _refuse_cuda(site: Path) -> None:
    dists = _distributions(site)
    torch = dists.get("torch")
    cuda = sorted(name for name in dists if name.startswith("nvidia-") or name == "triton")
    if torch is None or not torch.endswith("+cpu") or cuda:
        raise BuildError(
            f"the venv holds torch {torch} with {cuda or 'no'} CUDA packages; "
            "the runtime image must carry the CPU build (torch==2.13.0+cpu)"
        )


# -- step 3: staging ------------------------------------------------------------------------------


def _stage_skeleton(root: Path) -> None:
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


def _stage_python(root: Path, python: HostPython) -> Path | None:
    """The interpreter, libpython and the standard library, moved to /usr/local; returns libpython."""
    bin_dir = root / _rel(IMAGE_PREFIX / "bin")
    binary = bin_dir / f"python{python.version}"
    _link_or_copy(python.executable, binary)
    for alias in ("python3", "python"):
        (bin_dir / alias).symlink_to(binary.name)
    libpython = _libpython_of(python.executable)
    if libpython is not None:
        _link_or_copy(libpython, root / _rel(_image_path_for(libpython, python)))

    def skip(relative: PurePosixPath, is_dir: bool) -> bool:
        if len(relative.parts) == 1 and (
            relative.name in STDLIB_DROP_TOP or relative.name.startswith("config-")
        ):
            return True
        if is_dir and relative.name in TEST_DIRS:
            return True
        return _skip_pycache(relative, is_dir) or relative.name.startswith(("_test", "_tkinter"))

    _copy_tree(python.stdlib, root / _rel(python.image_stdlib), skip)
    (root / _rel(python.image_site)).mkdir(parents=True, exist_ok=True)
    return libpython


def _compiled_site(site: Path, python: HostPython, say: Progress) -> Path:
    """The venv's site-packages as the image holds it (filtered, byte-compiled), cached beside the venv.

    Compiling torch is the slowest step of a build; with this cache an image rebuilt for a changed
    sdk/ only compiles the standard library and the sdk.
    """
    venv = site.parents[2]
    cache = venv / f"image-site-{_file_digest(Path(__file__))[:12]}"
    target = cache / _rel(python.image_site)
    marker = cache / ".complete"
    if marker.exists():
        say(f"      reusing the compiled packages in {_show(cache)}")
        return target
    for stale in venv.glob("image-site-*"):
        shutil.rmtree(stale)

    def skip(relative: PurePosixPath, is_dir: bool) -> bool:
        top = relative.parts[0]
        if top in SITE_DROP_TOP or top.startswith("pip-"):
            return True
        if is_dir and relative.name == "tests" and top in SITE_TESTS_DROPPED_IN:
            return True
        return _skip_pycache(relative, is_dir)

    step = time.monotonic()
    _copy_tree(site, target, skip)
    _compile(cache, python, [target])
    marker.touch()
    say(f"      packages compiled for the image's paths in {_since(step)} (cached in {_show(cache)})")
    return target


def _skip_pycache(relative: PurePosixPath, is_dir: bool) -> bool:
    return (is_dir and relative.name == "__pycache__") or relative.suffix in (".pyc", ".pyo")


def _copy_tree(source: Path, target: Path, skip: Callable[[PurePosixPath, bool], bool]) -> None:
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
                _link_or_copy(full, here / name)


def _copy_link(source: Path, target: Path) -> None:
    link = os.readlink(source)
    if not os.path.isabs(link):
        target.symlink_to(link)
    elif source.is_file():
        # An absolute link (Debian's sitecustomize.py -> /etc/...) would name the host's file inside the
        # image: take the file itself.
        shutil.copy2(source.resolve(), target)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# -- step 4: shared libraries ---------------------------------------------------------------------


_LDD_RESOLVED = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)$")
_LDD_DIRECT = re.compile(r"^\s*(/\S+)\s+\(0x[0-9a-f]+\)$")
_LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found$")
# Loaded with dlopen by glibc itself (thread cancellation, unwinding), so ldd never names it.
_ALWAYS_LIBRARIES = ("libgcc_s.so.1",)


def _stage_libraries(root: Path, python: HostPython, libpython: Path | None) -> int:
    """Copy every shared library the staged binaries need (as `ldd` resolves them on this host)."""
    elves = [path for path in _walk_files(root) if _is_elf(path)]
    needed: set[str] = set()
    missing: set[tuple[str, str]] = set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for path, output in zip(elves, pool.map(_ldd, elves), strict=True):
            for line in output.splitlines():
                if match := _LDD_RESOLVED.match(line):
                    needed.add(match.group(2))
                elif match := _LDD_DIRECT.match(line):
                    needed.add(match.group(1))
                elif match := _LDD_MISSING.match(line):
                    missing.add((match.group(1), str(path.relative_to(root))))
    for name in _ALWAYS_LIBRARIES:
        found = _find_system_library(name)
        if found:
            needed.add(found)
    staged_names = {path.name for path in elves}
    unresolved = sorted(m for m in missing if m[0] not in staged_names)
    if unresolved:
        raise BuildError(f"ldd finds no library for: {unresolved[:5]}")
    copied = 0
    root_real = os.path.realpath(root)
    for library in sorted(needed):
        real = os.path.realpath(library)
        if real.startswith(root_real + os.sep):
            continue  # one of the staged files ($ORIGIN-relative)
        if libpython is not None and real == os.path.realpath(libpython):
            continue
        target_path = PurePosixPath(os.path.realpath(os.path.dirname(library))) / os.path.basename(library)
        if str(target_path).startswith(str(python.prefix) + "/"):
            target_path = _image_path_for(Path(library), python)
        target = root / _rel(target_path)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(real, target)
            copied += 1
    return copied


def _run_ldconfig(root: Path) -> str:
    folders = sorted(
        {
            "/" + str(path.parent.relative_to(root))
            for path in _walk_files(root)
            if ".so" in path.name and not str(path.relative_to(root)).startswith("usr/local/lib/python")
        }
    )
    (root / "etc/ld.so.conf").write_text("\n".join(folders) + "\n")
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    try:
        subprocess.run([ldconfig, "-r", str(root)], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        # ldconfig -r chroots, which needs root; LD_LIBRARY_PATH does the same job, less neatly.
        (root / "etc/ld.so.conf").unlink()
        return f"no ld.so.cache ({_error_text(error)}); LD_LIBRARY_PATH set instead"
    return f"ld.so.cache for {len(folders)} folders"


def _ldd(path: Path) -> str:
    result = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def _libpython_of(executable: Path) -> Path | None:
    for line in _ldd(executable).splitlines():
        match = _LDD_RESOLVED.match(line)
        if match and match.group(1).startswith("libpython"):
            return Path(match.group(2))
    return None


def _image_path_for(host_path: Path, python: HostPython) -> PurePosixPath:
    """Where a file of the host Python's prefix goes in the image (the prefix becomes /usr/local)."""
    try:
        return IMAGE_PREFIX / PurePosixPath(host_path.relative_to(python.prefix))
    except ValueError:
        return PurePosixPath(host_path)


def _find_system_library(name: str) -> str | None:
    result = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split(" ")[0] == name and "x86-64" in parts[0]:
            return parts[1]
    return None


# -- step 5: bytecode -----------------------------------------------------------------------------


def _compile(root: Path, python: HostPython, targets: Sequence[Path]) -> None:
    """Compile `targets` (under `root`) for their paths inside the image; hash-based pyc, so mtimes never
    matter and the source is never looked at again."""
    result = subprocess.run(
        [
            str(python.executable),
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode=unchecked-hash",
            "-s",
            str(root),
            "-p",
            "/",
            *(str(target) for target in targets),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        failures = [line for line in result.stdout.splitlines() if line.startswith("***")]
        # A few vendored files are Python 2 or templates; they are never imported.
        if not failures or len(failures) > 20:
            raise BuildError("compileall failed:\n" + (result.stdout + result.stderr)[-2000:])


# -- step 6: import -------------------------------------------------------------------------------


def _check_nothing_private(root: Path) -> None:
    for path in _walk_all(root):
        relative = path.relative_to(root)
        text = str(relative)
        if (
            relative.parts[0] in FORBIDDEN_TOP
            or text in FORBIDDEN_PATHS
            or any(text.startswith(p + "/") for p in FORBIDDEN_PATHS)
            or FORBIDDEN_NAMES.search(relative.name)
        ):
            raise BuildError(f"refusing to put {text} into the image: it looks host-private")
        if path.is_symlink():
            link = os.readlink(path)
            if link.startswith(("/root", "/home")):
                raise BuildError(f"refusing symlink {text} -> {link}: it points into a home folder")


def _import(
    client: Any, root: Path, spec: ImageSpec, python: HostPython, key: str, size: int, say: Progress
) -> str:
    repository, _, tag = spec.tag.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = spec.tag, "latest"
    labels = {
        **spec.labels,
        LABEL_INPUTS: key,
        LABEL_RECIPE: f"build_offline/{RECIPE_VERSION}",
        "org.crowdcompute.runtime.python": python.full_version,
    }
    environment = {
        "PATH": f"{IMAGE_PREFIX}/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
    }
    if not (root / "etc/ld.so.cache").exists():
        environment["LD_LIBRARY_PATH"] = f"{IMAGE_PREFIX}/lib"
    changes = [f"ENV {name}={value}" for name, value in environment.items()]
    changes += [f"LABEL {name}={json.dumps(value)}" for name, value in labels.items()]
    changes += [f"USER {RUNTIME_UID}:{RUNTIME_UID}", "WORKDIR /tmp", 'CMD ["python3"]']
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "--owner=0", "--group=0", "--sort=name", "-cf", "-", "."],
        stdout=subprocess.PIPE,
    )
    assert tar.stdout is not None

    def chunks() -> Iterator[bytes]:
        sent, shown = 0, 0.0
        assert tar.stdout is not None
        while chunk := tar.stdout.read(1 << 20):
            sent += len(chunk)
            if time.monotonic() - shown > 2:
                shown = time.monotonic()
                say(f"      docker import: {sent / 2**20:.0f} of ~{size / 2**20:.0f} MiB")
            yield chunk

    try:
        answer = client.api.import_image(
            src=chunks(), repository=repository, tag=tag, changes=changes, stream_src=True
        )
    finally:
        tar.stdout.close()
        if tar.wait() != 0:
            raise BuildError("tar failed while streaming the root filesystem")
    match = re.search(r"sha256:[0-9a-f]{64}", str(answer))
    if not match:
        raise BuildError(f"docker import gave no image id: {answer!r}")
    return match.group(0)


# -- bookkeeping ----------------------------------------------------------------------------------


def _existing_image(client: Any, tag: str) -> Any:
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _remove_superseded(client: Any, image_id: str, say: Progress) -> None:
    import docker.errors

    try:
        client.images.remove(image_id)
        say(f"      removed the superseded image {image_id[:19]}")
    except docker.errors.APIError as error:
        say(f"      kept the superseded image {image_id[:19]}: {error.explanation}")


def _record(tag: str, image_id: str, key: str, seconds: float, size: int) -> None:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    record = {"tag": tag, "image_id": image_id, "inputs": key, "seconds": round(seconds, 1), "size": size}
    (BUILD_DIR / (re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".json")).write_text(json.dumps(record, indent=2))


def _run(command: Sequence[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed: {(result.stdout + result.stderr)[-2000:]}")


def _walk_files(root: Path) -> Iterator[Path]:
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                yield path


def _walk_all(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield Path(folder) / name


def _is_elf(path: Path) -> bool:
    if not (path.suffix == ".so" or ".so." in path.name or os.access(path, os.X_OK)):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for path in _walk_files(root):
        files += 1
        size += path.stat().st_size
    return files, size


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(_walk_files(root)):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0" + _file_digest(path).encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _requirement_names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names[:2] + ([f"{len(names) - 2} more"] if len(names) > 2 else [])


def _rel(path: PurePosixPath) -> str:
    return str(path).lstrip("/")


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def _since(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


def _error_text(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return (error.stderr or str(error)).strip()
    return str(error)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_image(tag: str, client: Any = None) -> str:
    """Import torch and numpy inside the image, hardened as jobs run (no network, read-only root)."""
    import docker

    client = client or docker.from_env()
    output = client.containers.run(
        tag,
        [
            "python3",
            "-c",
            "import torch, numpy; print(torch.__version__, numpy.__version__, torch.get_num_threads())",
        ],
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": "size=64m"},
        user=f"{RUNTIME_UID}:{RUNTIME_UID}",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        environment={"OMP_NUM_THREADS": "1"},
        remove=True,
    )
    return bytes(output).decode().strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image tag (default {DEFAULT_TAG})")
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS)
    parser.add_argument("--no-sdk", action="store_true", help="leave the repo's sdk/ out")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument(
        "--keep-staging", action="store_true", help="keep the staged root under build/runtime"
    )
    parser.add_argument("--check", action="store_true", help="import torch inside the built image")
    args = parser.parse_args(argv)
    spec = ImageSpec(tag=args.tag, requirements=args.requirements, include_sdk=not args.no_sdk)
    try:
        built = build_image(spec, force=args.force, keep_staging=args.keep_staging)
        if args.check:
            _stderr(f"check: torch, numpy, threads = {check_image(built.tag)}")
    except BuildError as error:
        _stderr(f"build_offline: {error}")
        return 1
    print(f"{built.tag} {built.image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
