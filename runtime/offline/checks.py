"""What the builder checks: nothing host-private goes into the image (before import), and the built
image imports torch run as jobs run (`--check`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from runtime.offline.files import walk_all
from runtime.offline.spec import RUNTIME_UID, BuildError

FORBIDDEN_TOP = frozenset({"root", "home", "mnt", "media", "srv", "boot"})
FORBIDDEN_PATHS = frozenset({"etc/shadow", "etc/gshadow", "etc/sudoers", "etc/ssh", "etc/ssl/private"})
FORBIDDEN_NAMES = re.compile(
    r"(^id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$|^\.netrc$|^\.pypirc$|^\.git-credentials$|^\.ssh$|\.pem$|\.key$)"
)


def check_nothing_private(root: Path) -> None:
    """Refuse a staged tree holding home folders, keys, password files, or links into a home folder."""
    for path in walk_all(root):
        relative = path.relative_to(root)
        text = str(relative)
        if (
            relative.parts[0] in FORBIDDEN_TOP
            or text in FORBIDDEN_PATHS
            or any(text.startswith(p + "/") for p in FORBIDDEN_PATHS)
            or FORBIDDEN_NAMES.search(relative.name)
        ):
            raise BuildError(f"refusing to put {text} into the image: it looks host-private")
        if path.is_symlink():
            link = os.readlink(path)
            if link.startswith(("/root", "/home")):
                raise BuildError(f"refusing symlink {text} -> {link}: it points into a home folder")


def check_image(tag: str, client: Any = None) -> str:
    """Import torch and numpy inside the image, hardened as jobs run (no network, read-only root)."""
    import docker

    client = client or docker.from_env()
    output = client.containers.run(
        tag,
        [
            "python3",
            "-c",
            "import torch, numpy; print(torch.__version__, numpy.__version__, torch.get_num_threads())",
        ],
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": "size=64m"},
        user=f"{RUNTIME_UID}:{RUNTIME_UID}",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        environment={"OMP_NUM_THREADS": "1"},
        remove=True,
    )
    return bytes(output).decode().strip()
