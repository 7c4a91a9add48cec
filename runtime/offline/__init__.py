"""The offline runtime-image builder behind `runtime/build_offline.py` (the recipe is in its docstring).

`build` runs the steps in order: `packages` (the venv and its site-packages), `rootfs` (staging),
`libraries` (ldd, ldconfig), `bytecode` (.pyc for the image's paths), `checks` (nothing host-private),
`archive` (the reproducible layer, config and `docker load` archive) and `docker_load` (into the engine).
`inputs` says what the image depends on, input by input, and `lock` compares that with
runtime/image.lock. `spec` holds what to build and the builder's paths; `files` and `progress` serve all.
"""

from runtime.offline.build import build_image
from runtime.offline.checks import check_image
from runtime.offline.spec import BuildError, BuiltImage, ExtraFile, HostPython, ImageSpec

__all__ = ["BuildError", "BuiltImage", "ExtraFile", "HostPython", "ImageSpec", "build_image", "check_image"]
