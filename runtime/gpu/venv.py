"""Step 2 for the GPU image: the venv with the CUDA build of torch, installed where the CPU builder's
`ensure_venv` looks for its venv, so that the build reuses it instead of refusing CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from runtime.offline.files import digest
from runtime.offline.progress import Progress, show
from runtime.offline.spec import BUILD_DIR, BuildError, HostPython

VENV_MARKER = ".crowdcompute-complete"  # runtime/offline/packages.py's sign of a finished venv
Installer = Callable[[Path, Path], None]
"""Installs a requirements file into a venv: (venv, requirements)."""


def venv_dir(requirements: Path, python: HostPython, build_dir: Path = BUILD_DIR) -> Path:
    """The folder runtime/offline/packages.py's `ensure_venv` uses for these requirements and this Python
    (tests/runtime/test_gpu_recipe.py checks that it reuses a venv made here)."""
    key = digest((requirements.read_text() + python.full_version + str(python.executable)).encode())
    return build_dir / f"venv-{key[:16]}"


def site_of(venv: Path, python: HostPython) -> Path:
    return venv / "lib" / f"python{python.version}" / "site-packages"


def venv_ready(requirements: Path, python: HostPython, build_dir: Path = BUILD_DIR) -> bool:
    return (venv_dir(requirements, python, build_dir) / VENV_MARKER).exists()


def ensure_gpu_venv(
    requirements: Path,
    python: HostPython,
    say: Progress,
    *,
    build_dir: Path = BUILD_DIR,
    install: Installer | None = None,
) -> Path:
    """The venv with the CUDA torch installed (reused when complete); returns its site-packages."""
    venv = venv_dir(requirements, python, build_dir)
    site = site_of(venv, python)
    if (venv / VENV_MARKER).exists():
        say(f"      reusing {show(venv)}")
        return site
    build_dir.mkdir(parents=True, exist_ok=True)
    (install or pip_install)(venv, requirements)
    distributions = installed_distributions(site)
    require_cuda(distributions)
    (venv / VENV_MARKER).write_text(json.dumps(sorted(distributions)) + "\n")
    say(f"      installed torch {distributions['torch']} with CUDA into {show(venv)}")
    return site


def pip_install(venv: Path, requirements: Path) -> None:
    """A fresh venv and pip: binary wheels only, no cache (the wheels are GBs), temp files in the build
    folder (whose free space was checked), nothing compiled (the image's paths differ)."""
    python = HostPython.current()
    run([str(python.executable), "-m", "venv", "--clear", str(venv)], "creating the venv")
    temp = venv.parent / "pip-tmp"
    temp.mkdir(parents=True, exist_ok=True)
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    command += ["--no-cache-dir", "--no-compile", "--only-binary=:all:", "--progress-bar=off"]
    command += ["-r", str(requirements)]
    env = {**os.environ, "TMPDIR": str(temp)}
    piped = subprocess.PIPE
    with subprocess.Popen(command, env=env, stdout=piped, stderr=subprocess.STDOUT, text=True) as pip:
        assert pip.stdout is not None
        tail: list[str] = []
        for line in pip.stdout:
            tail = [*tail[-40:], line]
            if line.startswith(("Collecting", "Installing", "Successfully", "ERROR")):
                print("      pip: " + line.rstrip(), file=sys.stderr, flush=True)
    if pip.returncode != 0:
        raise BuildError(
            f"pip could not install {requirements}: {''.join(tail)[-1500:]}\nThe registry pip is configured "
            "with must hold torch==2.13.0 (the CUDA build) and the nvidia-*-cu13 wheels it pins"
        )


def installed_distributions(site: Path) -> dict[str, str]:
    found = {}
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        head = meta.read_text(errors="replace").splitlines()[:20]
        fields = dict(line.split(": ", 1) for line in head if ": " in line)
        found[fields.get("Name", meta.parent.name).lower()] = fields.get("Version", "?")
    return found


def require_cuda(distributions: dict[str, str]) -> None:
    """The reverse of the CPU builder's refusal: torch must be a CUDA build, with its CUDA libraries."""
    torch = distributions.get("torch")
    cuda = sorted(name for name in distributions if name.startswith("nvidia-"))
    if torch is None or "+cpu" in torch or not cuda:
        raise BuildError(
            f"the GPU venv holds torch {torch} with {cuda or 'no'} CUDA packages; the GPU image must carry "
            "the CUDA build (torch==2.13.0 with the nvidia-*-cu13 wheels of runtime/requirements-gpu.txt)"
        )


def run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed: {(result.stdout + result.stderr)[-2000:]}")
