"""The runtime image is reproducible: two builds staged in different folders, under different tags, give
the same image id, and on a machine with the locked inputs it is runtime/image.lock's id.

It builds the real CPU torch image twice (about 20 s each once the venv and its compiled packages are
cached under build/runtime/), and removes the tags it made (the image stays where another tag, such as
crowdcompute/runtime-cpu:torch2.13, names the same id)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from runtime.build_offline import check_against_lock
from runtime.offline.build import build_image
from runtime.offline.spec import ImageSpec

log = logging.getLogger(__name__)


def test_two_builds_in_other_folders_under_other_tags_give_one_image_id(
    docker_client: Any, tmp_path: Path
) -> None:
    tags = [f"crowdcompute/runtime-cpu:pytest-repro-{os.getpid()}-{n}" for n in (1, 2)]
    stagings = [tmp_path / "first", tmp_path / "second" / "deeper"]
    try:
        built = [
            build_image(ImageSpec(tag=tag), client=docker_client, staging_dir=staging, progress=log.info)
            for tag, staging in zip(tags, stagings, strict=True)
        ]
        assert not any(b.reused for b in built)
        assert built[0].image_id == built[1].image_id
        assert built[0].inputs == built[1].inputs
        assert docker_client.images.get(tags[0]).id == docker_client.images.get(tags[1]).id
        assert all(not any(staging.iterdir()) for staging in stagings)  # staging removed
        check = check_against_lock(built[1])  # raises LockMismatch: equal inputs, another id
        assert check is not None
        assert check.matches == (check.differing == ())
    finally:
        for tag in tags:
            if any(tag in image.tags for image in docker_client.images.list(name=tag.split(":")[0])):
                docker_client.images.remove(tag)
