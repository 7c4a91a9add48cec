"""The Docker engine for the builder's tests (named `docker_client`, so the tests are marked `docker`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker

    from tests.jobs.executor_images import ensure_docker

    ensure_docker()  # raises (a test error, not a skip) when no engine can be had
    client = docker.from_env(timeout=900)
    yield client
    client.close()
