"""Can this node run a job's pinned runtime image? Asked before claiming, from the executor itself.

Nodes never pull images: the image must be present locally with the pinned digest (its id or one of its
repo digests). A skip names the pinned id and what the node has; the reason reaches the requester through
the provider's skip report (`reporting`, the gateway's `/jobs/{id}/reports`, `crowdcompute job status`).
Executors without images (the no-op executor of tests and benches) accept every image.
"""

from __future__ import annotations

from jobs.executors import (
    EngineUnavailable,
    Executor,
    ExecutorError,
    ImageDigestMismatch,
    ImageRef,
    ImageUnavailable,
)
from jobs.matching import SkipKind, SkipReason
from provider_node.matching import ImageCheck

__all__ = ["image_check_for"]

_BUILD_HINT = (
    "Build the image here (`make runtime-image`); when the build gives another id, this machine's inputs "
    "differ from those of the job's image (runtime/build_offline.py names them against runtime/image.lock)"
)


def image_check_for(executor: Executor) -> ImageCheck:
    resolve = getattr(executor, "resolve_image", None)
    if resolve is None:
        return lambda image: None

    def check(image: ImageRef) -> str | None:
        try:
            resolve(image)
        except ImageUnavailable as exc:
            return SkipReason(
                f"runtime image {image.name} pinned to {image.digest} is not on this node: {exc}. "
                f"{_BUILD_HINT}",
                SkipKind.IMAGE_ABSENT,
            )
        except ImageDigestMismatch as exc:
            found = ", ".join(exc.found) or "no digest"
            return SkipReason(
                f"runtime image {image.name} is present but its digest differs: "
                f"pinned {image.digest}, local {found}. {_BUILD_HINT}",
                SkipKind.IMAGE_DIGEST,
            )
        except EngineUnavailable as exc:
            return SkipReason(f"the container engine does not answer: {exc}", SkipKind.ENGINE)
        except ExecutorError as exc:
            return SkipReason(f"runtime image {image.name} cannot be used: {exc}", SkipKind.IMAGE_ABSENT)
        return None

    return check
