"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def runtime_image() -> Iterator[str]:
    """The CPU torch runtime image, built on this machine when missing (docker engine included)."""
    import docker

    from tests.jobs.executor_images import build_runtime_image, ensure_docker

    ensure_docker()
    client = docker.from_env(timeout=300)
    try:
        yield build_runtime_image(client).digest
    finally:
        client.close()
