"""Step 2, the packages: a venv with the requirements installed by pip, and its site-packages filtered
and byte-compiled for the image's paths (both cached under build/runtime/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from runtime.offline.bytecode import compile_for_image
from runtime.offline.files import digest, file_digest, rel
from runtime.offline.progress import Progress, show, since
from runtime.offline.rootfs import copy_tree, skip_pycache
from runtime.offline.spec import BUILD_DIR, BuildError, HostPython

SITE_DROP_TOP = frozenset({"pip", "__pycache__"})
# pip's record of where a wheel came from (a path on this machine when installed from local disk).
SITE_DROP_NAMES = frozenset({"direct_url.json"})
# Packages whose `tests` folders are only their own test suites (torch's are imported by torch).
SITE_TESTS_DROPPED_IN = frozenset({"numpy", "sympy", "networkx", "mpmath", "fsspec", "setuptools"})


def ensure_venv(requirements: Path, python: HostPython, say: Progress) -> Path:
    """A venv with `requirements` installed (reused while they and the Python stay the same)."""
    key = digest((requirements.read_text() + python.full_version + str(python.executable)).encode())
    venv = BUILD_DIR / f"venv-{key[:16]}"
    marker = venv / ".crowdcompute-complete"
    site = venv / "lib" / f"python{python.version}" / "site-packages"
    if marker.exists():
        say(f"      reusing {show(venv)}")
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
            f"pip could not install {requirements} (see {show(pip_log)}); torch==2.13.0+cpu must be "
            "available to pip (on this machine it is a wheel on local disk; elsewhere add "
            "--extra-index-url https://download.pytorch.org/whl/cpu to pip's configuration)"
        )
    _refuse_cuda(site)
    marker.write_text(json.dumps(sorted(_distributions(site))) + "\n")
    say(f"      installed in {since(step)} into {show(venv)}")
    return site


def compiled_site(site: Path, python: HostPython, say: Progress) -> Path:
    """The venv's site-packages as the image holds it (filtered, byte-compiled), cached beside the venv.

    Compiling torch is the slowest step of a build; with this cache an image rebuilt for a changed
    sdk/ only compiles the standard library and the sdk.
    """
    venv = site.parents[2]
    cache = venv / f"image-site-{_compile_recipe()[:12]}"
    target = cache / rel(python.image_site)
    marker = cache / ".complete"
    if marker.exists():
        say(f"      reusing the compiled packages in {show(cache)}")
        return target
    for stale in venv.glob("image-site-*"):
        shutil.rmtree(stale)

    def skip(relative: PurePosixPath, is_dir: bool) -> bool:
        top = relative.parts[0]
        if top in SITE_DROP_TOP or top.startswith("pip-"):
            return True
        if is_dir and relative.name == "tests" and top in SITE_TESTS_DROPPED_IN:
            return True
        if relative.name in SITE_DROP_NAMES:
            return True
        return skip_pycache(relative, is_dir)

    step = time.monotonic()
    copy_tree(site, target, skip)
    for record in sorted(target.glob("*.dist-info/RECORD")):
        text = normalised_record(record.read_text())
        record.unlink()  # a hard link to the venv's file: write a new one
        record.write_text(text)
    compile_for_image(cache, python, [target])
    marker.touch()
    say(f"      packages compiled for the image's paths in {since(step)} (cached in {show(cache)})")
    return target


def normalised_record(text: str) -> str:
    """A wheel's installed RECORD without the lines the image does not hold and whose hashes name the venv's
    path: scripts outside site-packages (their `#!` line is the venv's interpreter) and pip's
    direct_url.json (where the wheel was found). What stays depends on the wheel alone."""
    kept = [
        line
        for line in text.splitlines()
        if not line.startswith("../") and line.split(",", 1)[0].rsplit("/", 1)[-1] not in SITE_DROP_NAMES
    ]
    return "".join(line + "\n" for line in kept)


def _compile_recipe() -> str:
    """What the compiled packages depend on besides the venv: this step's code and the compile step's
    (not the whole builder, so that changing another step does not compile torch again)."""
    here = Path(__file__).parent
    return digest("".join(file_digest(here / name) for name in ("packages.py", "bytecode.py")).encode())


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


def _run(command: Sequence[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed: {(result.stdout + result.stderr)[-2000:]}")
