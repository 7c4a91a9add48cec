"""What the Docker executor asks of the engine outside any one container, and how its answers read.

Images are never pulled: an execution starts only from an image present locally whose id or repo
digest equals the pinned digest (`resolve_image`), and the container is created from that exact image id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import docker.errors

from jobs.executors.base import ImageRef
from jobs.executors.errors import EngineUnavailable, ImageDigestMismatch, ImageUnavailable

_NEVER = "0001-01-01T00:00:00Z"  # the engine's zero time: "not started" / "not finished"


def resolve_image(client: Any, image: ImageRef) -> str:
    """The local image id for `image`, refusing an image that is absent or has another digest."""
    try:
        found = client.images.get(image.name)
    except docker.errors.ImageNotFound as error:
        raise ImageUnavailable(
            f"image {image.name!r} (pinned to {image.digest}) is not present on this host, which has "
            f"{_same_repository(client, image.name)}; nodes never pull images: build or load it first"
        ) from error
    except (docker.errors.APIError, OSError) as error:
        raise EngineUnavailable(f"could not look up image {image.name!r}: {explain(error)}") from error
    digests = (found.id, *(d.split("@", 1)[1] for d in found.attrs.get("RepoDigests") or [] if "@" in d))
    if image.digest not in digests:
        raise ImageDigestMismatch(image.name, image.digest, digests)
    return str(found.id)


def _same_repository(client: Any, name: str) -> str:
    """The images of `name`'s repository present here, for a refusal: 'repo:a (sha256:...), ...'."""
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    try:
        found = client.images.list(name=repository)
    except (docker.errors.APIError, OSError):
        return "images that could not be listed"
    tagged = sorted(f"{tag} ({image.id})" for image in found for tag in image.tags or ())
    return ", ".join(tagged) if tagged else f"no image of {repository}"


def local_image_id(name: str, *, timeout_s: float = 10.0) -> str:
    """The id ('sha256:...') of image `name` in the local Docker engine (the one `DOCKER_HOST` names).

    Raises `EngineUnavailable` when no engine answers and `ImageUnavailable` when it has no such image."""
    try:
        client = docker.from_env(timeout=int(timeout_s))
    except docker.errors.DockerException as error:
        raise EngineUnavailable(f"no Docker engine answers: {explain(error)}") from error
    try:
        return str(client.images.get(name).id)
    except docker.errors.ImageNotFound as error:
        raise ImageUnavailable(f"image {name!r} is not present in the local Docker engine") from error
    except (docker.errors.APIError, OSError) as error:
        raise EngineUnavailable(f"could not look up image {name!r}: {explain(error)}") from error
    finally:
        client.close()


def engine_runtimes(client: Any) -> list[str]:
    """The container runtimes the engine has registered (`runc`, and `nvidia` where GPUs can be used)."""
    try:
        return sorted((client.info().get("Runtimes") or {}).keys())
    except (docker.errors.APIError, OSError) as error:
        raise EngineUnavailable(f"could not ask the engine for its runtimes: {explain(error)}") from error


def parse_time(value: str | None) -> datetime | None:
    """The engine's RFC 3339 times (nanoseconds, 'Z'); None for its zero time."""
    if not value or value == _NEVER:
        return None
    head, _, rest = value.rstrip("Z").partition(".")
    digits = "".join(ch for ch in rest if ch.isdigit())[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{head}.{digits}").replace(tzinfo=UTC)
    except ValueError:
        return None


def explain(error: BaseException) -> str:
    """An engine error as one line: its explanation where the SDK gives one."""
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)
