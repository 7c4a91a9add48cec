"""The GPU variant of the offline runtime builder: runtime/build_offline_gpu.py, `make runtime-image GPU=1`.

It reuses runtime/offline's steps unchanged: the CPU image's id is a digest over that package's sources
(`spec.builder_digest`), so the GPU differences live here, outside it, and runtime/image.lock's CPU id
stays what it is.
"""
