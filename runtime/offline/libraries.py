"""Step 4, shared libraries: every library the staged binaries need, as `ldd` resolves them on this
machine, copied in; then `ldconfig -r` (or LD_LIBRARY_PATH where that needs root)."""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from runtime.offline.files import is_elf, rel, walk_files
from runtime.offline.spec import BuildError, HostPython, image_path_for

_LDD_RESOLVED = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)$")
_LDD_DIRECT = re.compile(r"^\s*(/\S+)\s+\(0x[0-9a-f]+\)$")
_LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found$")
# Loaded with dlopen by glibc itself (thread cancellation, unwinding), so ldd never names it.
_ALWAYS_LIBRARIES = ("libgcc_s.so.1",)


def stage_libraries(root: Path, python: HostPython, libpython: Path | None) -> list[str]:
    """Copy every shared library the staged binaries need (as `ldd` resolves them on this host); returns
    the host paths copied, as ldd names them (an input of the image: `inputs.lock_inputs`)."""
    elves = [path for path in walk_files(root) if is_elf(path)]
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
    copied = []
    root_real = os.path.realpath(root)
    for library in sorted(needed):
        real = os.path.realpath(library)
        if real.startswith(root_real + os.sep):
            continue  # one of the staged files ($ORIGIN-relative)
        if libpython is not None and real == os.path.realpath(libpython):
            continue
        target_path = PurePosixPath(os.path.realpath(os.path.dirname(library))) / os.path.basename(library)
        if str(target_path).startswith(str(python.prefix) + "/"):
            target_path = image_path_for(Path(library), python)
        target = root / rel(target_path)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(real, target)
            copied.append(library)
    return copied


def run_ldconfig(root: Path) -> str:
    folders = sorted(
        {
            "/" + str(path.parent.relative_to(root))
            for path in walk_files(root)
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


def libpython_of(executable: Path) -> Path | None:
    for line in _ldd(executable).splitlines():
        match = _LDD_RESOLVED.match(line)
        if match and match.group(1).startswith("libpython"):
            return Path(match.group(2))
    return None


def _find_system_library(name: str) -> str | None:
    result = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in result.stdout.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split(" ")[0] == name and "x86-64" in parts[0]:
            return parts[1]
    return None


def _error_text(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return (error.stderr or str(error)).strip()
    return str(error)
