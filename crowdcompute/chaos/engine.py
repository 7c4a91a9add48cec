"""What the Docker engine saw: `EngineWatch` reads its container events while a chaos run lasts.

Nodes remove their job containers once done, so the containers themselves cannot be counted afterwards;
the engine's `start` and `die` events can. A container is ours when one of its mounts lies under the
stack's root (other stacks on the same engine use the same dev accounts, hence the same node labels).

* `duplicate_runs`: provider containers (node label without the `validator-` prefix) that exited 0 for
  the same job and attempt (execution ids are `job<J>-a<A>-<node>-t<try>`), beyond the first.
* `orphan_containers(root)`: containers of the stack still on the engine (after the nodes stopped).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EngineWatch", "ExitedContainer", "duplicate_runs", "orphan_containers"]

_EXECUTION = re.compile(r"^job(?P<job>\d+)-a(?P<attempt>\d+)-")


@dataclass(frozen=True)
class ExitedContainer:
    container_id: str
    node: str
    execution: str
    exit_code: int

    @property
    def is_provider_run(self) -> bool:
        return not self.node.startswith(("validator-", "cheater-"))

    @property
    def attempt(self) -> tuple[int, int] | None:
        match = _EXECUTION.match(self.execution)
        return (int(match["job"]), int(match["attempt"])) if match else None


def duplicate_runs(exited: list[ExitedContainer]) -> dict[str, int]:
    """`job<J>-a<A>` -> how many provider containers beyond the first ran that attempt to completion."""
    finished = Counter(
        e.attempt for e in exited if e.is_provider_run and e.exit_code == 0 and e.attempt is not None
    )
    return {f"job{job}-a{attempt}": n - 1 for (job, attempt), n in finished.items() if n > 1}


@dataclass
class EngineWatch:
    root: Path
    started: int = 0
    exited: list[ExitedContainer] = field(default_factory=list)
    _ours: set[str] = field(default_factory=set)
    _thread: threading.Thread | None = None
    _client: Any = None
    _stream: Any = None

    def start(self) -> EngineWatch:
        import docker

        self._client = docker.from_env(timeout=30)
        filters = {"type": "container", "event": ["start", "die"], "label": "crowdcompute.node"}
        self._stream = self._client.events(decode=True, filters=filters)
        self._thread = threading.Thread(target=self._read, name="chaos-engine-events", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(Exception):
            self._client.close()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the stream ends with an error when closed
            for event in self._stream:
                self._record(event)

    def _record(self, event: dict[str, Any]) -> None:
        container_id = str(event.get("id", ""))
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if event.get("status") == "start":
            if self._is_ours(container_id):
                self._ours.add(container_id)
                self.started += 1
            return
        if container_id not in self._ours:
            return
        self.exited.append(
            ExitedContainer(
                container_id,
                str(attributes.get("crowdcompute.node", "")),
                str(attributes.get("crowdcompute.execution", "")),
                int(attributes.get("exitCode", -1)),
            )
        )

    def _is_ours(self, container_id: str) -> bool:
        try:
            mounts = self._client.api.inspect_container(container_id).get("Mounts") or []
        except Exception:
            return False
        return any(str(m.get("Source", "")).startswith(f"{self.root}/") for m in mounts)


def orphan_containers(root: Path) -> list[str]:
    """Names of the job containers on the engine whose mounts lie under `root`."""
    import docker

    client = docker.from_env(timeout=30)
    try:
        found = []
        for container in client.containers.list(all=True, filters={"label": "crowdcompute.node"}):
            mounts = container.attrs.get("Mounts") or []
            if any(str(m.get("Source", "")).startswith(f"{root}/") for m in mounts):
                found.append(f"{container.name} ({container.status})")
        return found
    finally:
        client.close()
