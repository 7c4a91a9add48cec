"""A job pinned to an image id this node does not have: the real Docker executor's image check skips it
with a reason naming the pinned id and the images the node has, and that reason is what the node reports
to the gateway (where `crowdcompute job status` shows it to the requester). A validator's re-execution
meets the same refusal from the executor and abstains with its text."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.executors import ImageRef, ImageUnavailable
from jobs.executors.docker import DockerExecutor
from jobs.matching import SkipKind, kind_of
from provider_node.images import image_check_for
from provider_node.reporting import _skip_report

MISSING_ID = "sha256:" + "de" * 32
RUNTIME_IMAGE = "crowdcompute/runtime-cpu:torch2.13"  # present wherever the Docker tests run


def present(docker_client: Any) -> ImageRef:
    return ImageRef(RUNTIME_IMAGE, str(docker_client.images.get(RUNTIME_IMAGE).id))


def test_an_absent_image_is_skipped_naming_the_pinned_id_and_what_the_node_has(docker_client: Any) -> None:
    runtime = present(docker_client)
    executor = DockerExecutor(docker_client)
    reason = image_check_for(executor)(ImageRef("crowdcompute/runtime-cpu:pytest-absent", MISSING_ID))
    executor.close()
    assert reason is not None and kind_of(reason) is SkipKind.IMAGE_ABSENT
    assert MISSING_ID in reason
    assert f"{RUNTIME_IMAGE} ({runtime.digest})" in reason
    assert "make runtime-image" in reason
    report = _skip_report(reason)
    assert report["kind"] == SkipKind.IMAGE_ABSENT.value and MISSING_ID in report["reason"]


def test_an_image_with_another_id_is_skipped_naming_both_ids(docker_client: Any) -> None:
    runtime = present(docker_client)
    executor = DockerExecutor(docker_client)
    check = image_check_for(executor)
    reason, fine = check(ImageRef(RUNTIME_IMAGE, MISSING_ID)), check(runtime)
    executor.close()
    assert reason is not None and kind_of(reason) is SkipKind.IMAGE_DIGEST
    assert f"pinned {MISSING_ID}, local {runtime.digest}" in reason
    assert fine is None


def test_the_executor_a_validator_re_executes_with_refuses_an_absent_image_naming_both_sides(
    docker_client: Any,
) -> None:
    """The validator abstains with this error's text ("the container engine could not re-execute it: ...")."""
    runtime = present(docker_client)
    executor = DockerExecutor(docker_client)
    try:
        with pytest.raises(ImageUnavailable) as refused:
            executor.resolve_image(ImageRef("crowdcompute/runtime-cpu:pytest-absent", MISSING_ID))
    finally:
        executor.close()
    text = str(refused.value)
    assert MISSING_ID in text and f"{RUNTIME_IMAGE} ({runtime.digest})" in text
    assert "nodes never pull images" in text
