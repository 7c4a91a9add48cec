"""The GPU runtime image's recipe, without its wheels (GBs: never downloaded by tests): the pins agree
with the CPU image's, the build refuses a short disk before any download, the CUDA venv is made where
the CPU builder's steps reuse it, the NVIDIA driver's libraries stay out of the image, the GPU lock is
an entry of its own, and `make runtime-image GPU=1` runs the GPU builder."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runtime.gpu.build import build_gpu_image, driver_libraries_left_out, without_driver_libraries
from runtime.gpu.lock import NOT_BUILT, read_gpu_lock, write_gpu_lock
from runtime.gpu.recipe import (
    GIB,
    GPU_LOCK_FILE,
    GPU_REQUIREMENTS,
    GPU_TAG,
    INSTALLED_BYTES,
    WHEELS_BYTES,
    check_disk,
    disk_needs,
    gpu_spec,
)
from runtime.gpu.venv import Installer, ensure_gpu_venv, require_cuda, site_of, venv_dir
from runtime.offline import packages
from runtime.offline.inputs import source_inputs
from runtime.offline.libraries import stage_libraries
from runtime.offline.lock import LOCK_FILE, read_lock
from runtime.offline.spec import DEFAULT_REQUIREMENTS, BuildError, HostPython
from tests.provider_node.fake_pynvml import nvml_present

REPO = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return dict(line.split("==", 1) for line in lines if line)


def test_the_gpu_pins_are_the_cpu_pins_with_the_cuda_torch_and_its_libraries() -> None:
    cpu, gpu = pins(DEFAULT_REQUIREMENTS), pins(GPU_REQUIREMENTS)
    assert cpu["torch"] == "2.13.0+cpu" and gpu["torch"] == "2.13.0"  # the same release, its CUDA build
    assert {name: gpu.get(name) for name in cpu if name != "torch"} == {
        name: version for name, version in cpu.items() if name != "torch"
    }
    cuda = {name for name in gpu if name.startswith("nvidia-")}
    assert {"nvidia-cublas", "nvidia-cuda-runtime", "nvidia-cudnn-cu13", "nvidia-nccl-cu13"} <= cuda
    assert "triton" in gpu and not any("+cpu" in version for version in gpu.values())
    text = GPU_REQUIREMENTS.read_text()
    assert all("==" in line for line in text.splitlines() if line.strip() and not line.startswith("#"))


def test_a_short_disk_is_refused_before_any_download_naming_the_need_and_the_free_space(
    tmp_path: Path,
) -> None:
    """The free space is injected: the refusal must not depend on this machine's disk."""
    with pytest.raises(BuildError) as refused:
        check_disk(tmp_path, tmp_path, venv_ready=False, free_bytes=lambda folder: 5 * GIB)
    text = str(refused.value)
    (need,) = disk_needs(tmp_path, tmp_path, venv_ready=False)
    assert f"needs about {need.bytes_needed / GIB:.1f} GiB free" in text and "5.0 GiB is free" in text
    assert str(tmp_path) in text and "CUDA wheels" in text
    assert need.bytes_needed >= WHEELS_BYTES + 3 * INSTALLED_BYTES  # wheels, venv, layer loaded + unpacked
    assert check_disk(tmp_path, tmp_path, venv_ready=False, free_bytes=lambda folder: 40 * GIB)


def test_a_ready_venv_needs_no_room_for_the_download(tmp_path: Path) -> None:
    (fresh,) = disk_needs(tmp_path, tmp_path, venv_ready=False)
    (ready,) = disk_needs(tmp_path, tmp_path, venv_ready=True)
    assert fresh.bytes_needed - ready.bytes_needed == WHEELS_BYTES + INSTALLED_BYTES


def fake_cuda_install(torch_version: str) -> Installer:
    """Stands in for pip (the real wheels are GBs): writes the dist-info folders pip would."""

    def install(venv: Path, requirements: Path) -> None:
        site = site_of(venv, HostPython.current())
        for name, version in (("torch", torch_version), ("nvidia-cublas", "13.1.1.3")):
            info = site / f"{name.replace('-', '_')}-{version}.dist-info"
            info.mkdir(parents=True)
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")

    return install


def test_the_cuda_venv_is_where_the_cpu_builders_step_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = HostPython.current()
    site = ensure_gpu_venv(
        GPU_REQUIREMENTS, python, lambda line: None, build_dir=tmp_path, install=fake_cuda_install("2.13.0")
    )
    assert site == site_of(venv_dir(GPU_REQUIREMENTS, python, tmp_path), python)
    assert json.loads((site.parents[2] / ".crowdcompute-complete").read_text()) == ["nvidia-cublas", "torch"]
    monkeypatch.setattr(packages, "BUILD_DIR", tmp_path)
    said: list[str] = []
    assert packages.ensure_venv(GPU_REQUIREMENTS, python, said.append) == site  # no pip, no CUDA refusal
    assert said and said[0].strip().startswith("reusing")


def test_a_cpu_torch_in_the_gpu_venv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="must carry the CUDA build"):
        ensure_gpu_venv(
            GPU_REQUIREMENTS,
            HostPython.current(),
            lambda line: None,
            build_dir=tmp_path,
            install=fake_cuda_install("2.13.0+cpu"),
        )
    with pytest.raises(BuildError, match="no CUDA packages"):
        require_cuda({"torch": "2.13.0"})


LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibcuda.so.1 => not found
\tlibnvidia-ml.so.1 => not found
\tlibcublas.so.13 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f12)
"""


def test_only_the_drivers_libraries_are_dropped_from_ldds_answer() -> None:
    kept = without_driver_libraries(LDD)
    assert "libcuda" not in kept and "libnvidia-ml" not in kept
    assert "libcublas.so.13 => not found" in kept and "libc.so.6 =>" in kept


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to link a library against libcuda")
def test_a_library_needing_the_driver_stages_without_it(tmp_path: Path) -> None:
    """A real ELF that needs libcuda.so.1 (linked against a stub made here, absent at staging time)."""
    stub, root = tmp_path / "stub", tmp_path / "root"
    lib = root / "usr/local/lib/python3.11/site-packages/torch/lib"
    stub.mkdir()
    lib.mkdir(parents=True)
    (tmp_path / "a.c").write_text("int cuInit(unsigned int f) { return 0; }\n")
    (tmp_path / "b.c").write_text("int cuInit(unsigned int f);\nint start(void) { return cuInit(0); }\n")
    gcc = ["gcc", "-shared", "-fPIC"]
    subprocess.run(
        [*gcc, "-Wl,-soname,libcuda.so.1", "-o", stub / "libcuda.so", tmp_path / "a.c"], check=True
    )
    subprocess.run([*gcc, "-o", lib / "libuses_cuda.so", tmp_path / "b.c", f"-L{stub}", "-lcuda"], check=True)
    python = HostPython.current()
    with pytest.raises(BuildError, match=r"libcuda\.so\.1"):
        stage_libraries(root, python, None)
    with driver_libraries_left_out():
        copied = stage_libraries(root, python, None)
    assert not any("libcuda" in path for path in copied)
    assert not list(root.rglob("libcuda*"))


def test_the_gpu_lock_is_an_entry_of_its_own_and_current_for_this_repository() -> None:
    lock, cpu = read_gpu_lock(), read_lock(LOCK_FILE)
    assert lock is not None and cpu is not None
    assert lock.tag == GPU_TAG != cpu.tag
    assert lock.image_id == NOT_BUILT or (
        lock.image_id.startswith("sha256:") and lock.image_id != cpu.image_id
    )
    here = source_inputs(gpu_spec(), HostPython.current())
    stale = {name for name, value in here.items() if lock.inputs.get(name) != value}
    assert stale == set(), (
        f"{GPU_LOCK_FILE.name} is stale for {sorted(stale)}: refresh it with "
        "`.venv/bin/python runtime/build_offline_gpu.py --lock-inputs`"
    )
    assert lock.inputs["requirements"] != cpu.inputs["requirements"]
    assert lock.inputs["builder"] != cpu.inputs["builder"]  # the GPU labels and builder count


def test_the_gpu_lock_reads_back_an_unbuilt_and_a_built_entry(tmp_path: Path) -> None:
    path = tmp_path / "image-gpu.lock"
    write_gpu_lock(GPU_TAG, NOT_BUILT, {"requirements": "sha256:aa"}, path)
    assert read_gpu_lock(path) is not None and read_gpu_lock(path).image_id == NOT_BUILT  # type: ignore[union-attr]
    write_gpu_lock(GPU_TAG, "sha256:" + "ab" * 32, {"requirements": "sha256:aa"}, path)
    assert read_gpu_lock(path).image_id == "sha256:" + "ab" * 32  # type: ignore[union-attr]
    with pytest.raises(BuildError, match="not an image id"):
        write_gpu_lock(GPU_TAG, "latest", {}, path)


@pytest.mark.parametrize(("gpu", "script"), [("1", "build_offline_gpu.py"), ("", "build_offline.py")])
def test_make_runtime_image_runs_the_gpu_builder_when_asked(gpu: str, script: str) -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "runtime-image", f"GPU={gpu}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = [line for line in dry.stdout.splitlines() if "runtime/build_offline" in line]
    assert f"runtime/{script} --check" in line


def test_the_gpu_check_tool_says_what_is_missing_on_a_machine_without_a_gpu(tmp_path: Path) -> None:
    if nvml_present():
        pytest.skip("this machine has an NVIDIA driver: run tools/gpu_check.py itself")
    out = tmp_path / "gpu_check.json"
    ran = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gpu_check.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert ran.returncode == 2, ran.stderr
    assert "no NVIDIA driver answers" in ran.stderr and "Nothing was measured" in ran.stderr
    assert not out.exists()
    tool = runpy.run_path(str(REPO / "tools" / "gpu_check.py"), run_name="gpu_check")
    compile(tool["TRAIN"], "train.py", "exec")  # the job the tool runs in the GPU image


def test_the_build_checks_the_disk_before_it_installs_anything(docker_client: Any) -> None:
    """The real engine (its Docker root) and this recipe; the free space is injected, pip is not run."""
    installed: list[Path] = []
    with pytest.raises(BuildError, match=r"needs about \d+\.\d GiB free .* but 4\.0 GiB is free"):
        build_gpu_image(
            gpu_spec(),
            client=docker_client,
            force=True,
            install=lambda venv, requirements: installed.append(venv),
            free_bytes=lambda folder: 4 * GIB,
        )
    assert installed == []
