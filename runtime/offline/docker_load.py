"""Step 6, the load: the staged root written as a reproducible image (`archive`) and streamed into
`docker load` with the image's environment, user and labels; and the image a rebuild supersedes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from runtime.offline.archive import image_config, image_id_of, load_archive_chunks, measure_layer
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


def repo_tag(tag: str) -> str:
    repository, _, name = tag.rpartition(":")
    if not repository or "/" in name:
        return f"{tag}:latest"
    return tag


def load_rootfs(
    client: Any,
    root: Path,
    spec: ImageSpec,
    python: HostPython,
    key: str,
    extra_labels: Mapping[str, str],
    say: Progress,
) -> str:
    """Load the tree at `root` as image `spec.tag`; returns its id, the sha256 of the config written here
    (checked against the engine's answer)."""
    labels = {
        **spec.labels,
        **extra_labels,
        LABEL_INPUTS: key,
        LABEL_RECIPE: f"build_offline/{RECIPE_VERSION}",
        "org.crowdcompute.runtime.python": python.full_version,
    }
    env = {
        "PATH": f"{IMAGE_PREFIX}/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": "/tmp",
    }
    if not (root / "etc/ld.so.cache").exists():
        env["LD_LIBRARY_PATH"] = f"{IMAGE_PREFIX}/lib"
    layer = measure_layer(root)
    config = image_config(
        layer.diff_id,
        env=env,
        labels=labels,
        user=f"{RUNTIME_UID}:{RUNTIME_UID}",
        workdir="/tmp",
        cmd=["python3"],
        created_by=f"runtime/build_offline.py (recipe {RECIPE_VERSION})",
    )
    image_id = image_id_of(config)
    say(f"      layer {layer.diff_id[:19]} ({layer.size / 2**20:.0f} MiB); image id {image_id[:19]}")

    def chunks() -> Iterator[bytes]:
        sent, shown = 0, 0.0
        for chunk in load_archive_chunks(root, layer, config, repo_tag(spec.tag)):
            sent += len(chunk)
            if time.monotonic() - shown > 2:
                shown = time.monotonic()
                say(f"      docker load: {sent / 2**20:.0f} of ~{layer.size / 2**20:.0f} MiB")
            yield chunk

    answer = [dict(line) for line in client.api.load_image(chunks())]
    errors = [str(line["error"]) for line in answer if line.get("error")]
    if errors:
        raise BuildError(f"docker load refused the image: {'; '.join(errors)[:600]}")
    found = client.images.get(spec.tag).id
    if found != image_id:
        said = " ".join(str(line.get("stream", "")).strip() for line in answer)
        raise BuildError(
            f"docker load gave {spec.tag} the id {found}, not the digest of the config written "
            f"({image_id}); the engine said: {said[:400]}"
        )
    return image_id


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
