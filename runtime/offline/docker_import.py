"""Step 6, the import: the staged root streamed through `tar` into `docker import`, with the image's
environment, user and labels; and the image a rebuild supersedes."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.offline.progress import Progress
from runtime.offline.spec import (
    IMAGE_PREFIX,
    LABEL_INPUTS,
    LABEL_RECIPE,
    RECIPE_VERSION,
    RUNTIME_UID,
    BuildError,
    HostPython,
    ImageSpec,
)


def import_rootfs(
    client: Any, root: Path, spec: ImageSpec, python: HostPython, key: str, size: int, say: Progress
) -> str:
    repository, _, tag = spec.tag.rpartition(":")
    if not repository or "/" in tag:
        repository, tag = spec.tag, "latest"
    labels = {
        **spec.labels,
        LABEL_INPUTS: key,
        LABEL_RECIPE: f"build_offline/{RECIPE_VERSION}",
        "org.crowdcompute.runtime.python": python.full_version,
    }
    environment = {
        "PATH": f"{IMAGE_PREFIX}/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
    }
    if not (root / "etc/ld.so.cache").exists():
        environment["LD_LIBRARY_PATH"] = f"{IMAGE_PREFIX}/lib"
    changes = [f"ENV {name}={value}" for name, value in environment.items()]
    changes += [f"LABEL {name}={json.dumps(value)}" for name, value in labels.items()]
    changes += [f"USER {RUNTIME_UID}:{RUNTIME_UID}", "WORKDIR /tmp", 'CMD ["python3"]']
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "--owner=0", "--group=0", "--sort=name", "-cf", "-", "."],
        stdout=subprocess.PIPE,
    )
    assert tar.stdout is not None

    def chunks() -> Iterator[bytes]:
        sent, shown = 0, 0.0
        assert tar.stdout is not None
        while chunk := tar.stdout.read(1 << 20):
            sent += len(chunk)
            if time.monotonic() - shown > 2:
                shown = time.monotonic()
                say(f"      docker import: {sent / 2**20:.0f} of ~{size / 2**20:.0f} MiB")
            yield chunk

    try:
        answer = client.api.import_image(
            src=chunks(), repository=repository, tag=tag, changes=changes, stream_src=True
        )
    finally:
        tar.stdout.close()
        if tar.wait() != 0:
            raise BuildError("tar failed while streaming the root filesystem")
    match = re.search(r"sha256:[0-9a-f]{64}", str(answer))
    if not match:
        raise BuildError(f"docker import gave no image id: {answer!r}")
    return match.group(0)


# -- bookkeeping ----------------------------------------------------------------------------------


def existing_image(client: Any, tag: str) -> Any:
    import docker.errors

    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def remove_superseded(client: Any, image_id: str, say: Progress) -> None:
    import docker.errors

    try:
        client.images.remove(image_id)
        say(f"      removed the superseded image {image_id[:19]}")
    except docker.errors.APIError as error:
        say(f"      kept the superseded image {image_id[:19]}: {error.explanation}")
