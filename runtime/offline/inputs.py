"""What an image's bytes depend on, input by input: the idempotency key taken before a build, and the
breakdown the image lock records (each input one line: what it is, and the digest of its bytes)."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.offline.files import digest, file_digest, tree_digest
from runtime.offline.libraries import libpython_of
from runtime.offline.spec import RECIPE_VERSION, REPO, HostPython, ImageSpec, builder_digest


def image_inputs(spec: ImageSpec, python: HostPython) -> dict[str, Any]:
    """Everything the image's bytes depend on that is known before building: the idempotency key."""
    libpython = libpython_of(python.executable)
    return {
        "recipe": RECIPE_VERSION,
        "builder": builder_digest(),
        "python": python.full_version,
        "python_binary": file_digest(python.executable),
        "libpython": file_digest(libpython) if libpython else None,
        "libc": platform.libc_ver(),
        "requirements": spec.requirements.read_text() if spec.requirements else None,
        "sdk": tree_digest(REPO / "sdk") if spec.include_sdk and (REPO / "sdk").is_dir() else None,
        "extra": [(e.image_path, e.mode, file_digest(e.source)) for e in spec.extra_files],
        "labels": dict(spec.labels),
    }


def source_inputs(spec: ImageSpec, python: HostPython) -> dict[str, str]:
    """The inputs that live in this repository (requirements, sdk/, the builder), as the lock records them:
    a change to one of them needs a new lock (`build_offline.py --lock`)."""
    key = image_inputs(spec, python)
    return {
        "requirements": _short(key["requirements"]) if key["requirements"] else "none",
        "sdk": _short(key["sdk"]) if key["sdk"] else "none",
        "builder": f"recipe {RECIPE_VERSION} {_short(key['builder'], key['extra'], key['labels'])}",
    }


def lock_inputs(
    spec: ImageSpec, python: HostPython, site: Path | None, libraries: Sequence[str]
) -> dict[str, str]:
    """The lock's breakdown: one line per input (`lock.INPUT_NAMES`), known once the root is staged."""
    key = image_inputs(spec, python)
    distributions = _distributions(site) if site is not None else {}
    torch = distributions.get("torch")
    return {
        **source_inputs(spec, python),
        "python": f"{python.full_version} {_short(key['python_binary'], key['libpython'], key['libc'])}",
        "torch": f"{torch[0]} {_short(torch[1])}" if torch else "none",
        "packages": (
            f"{len(distributions)} distributions {_short(sorted(distributions.items()))}"
            if distributions
            else "none"
        ),
        "libraries": _libraries(libraries),
    }


def _short(*values: Any) -> str:
    return "sha256:" + digest(json.dumps(values, sort_keys=True).encode())[:32]


def _distributions(site: Path) -> dict[str, tuple[str, str]]:
    """Each installed distribution: its version and the digest of its RECORD (the wheel's file hashes)."""
    found = {}
    for info in sorted(site.glob("*.dist-info")):
        meta = info / "METADATA"
        if not meta.exists():
            continue
        fields = dict(
            line.split(": ", 1) for line in meta.read_text(errors="replace").splitlines()[:20] if ": " in line
        )
        record = info / "RECORD"
        name = fields.get("Name", info.name).lower()
        found[name] = (fields.get("Version", "?"), file_digest(record) if record.exists() else "")
    return found


def _libraries(paths: Sequence[str]) -> str:
    """The Debian packages (name=version) that own the copied libraries, and the libraries' digest."""
    files = sorted(set(paths))
    contents = _short([(Path(path).name, file_digest(Path(path))) for path in files])
    packages = _owning_packages(files)
    return f"{' '.join(packages) or f'{len(files)} files'} {contents}"


def _owning_packages(paths: Sequence[str]) -> list[str]:
    if not paths or not shutil.which("dpkg") or not shutil.which("dpkg-query"):
        return []
    owners = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
    names = sorted({line.split(":", 1)[0] for line in owners.splitlines() if ": " in line})
    if not names:
        return []
    query = ["dpkg-query", "-W", "-f", "${Package}=${Version}\\n", *names]
    versions = subprocess.run(query, capture_output=True, text=True).stdout
    return sorted({line for line in versions.splitlines() if line})
