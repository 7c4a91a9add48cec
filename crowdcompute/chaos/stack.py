"""`ChaosStack`: the demo's stack with more nodes, an RPC link that can be cut, and processes that can be
killed and started again.

* 3 providers (dev accounts 2-4) and 5 validators (5-9) by default; anvil funds all ten accounts.
* Every node dials the chain through a `CuttableProxy` on 127.0.0.1; the gateway and this process dial
  anvil directly, so what the bench observes is never cut.
* `kill(name)` SIGKILLs a process's group (its job containers live on in the engine), `start_again(name)`
  runs the same command with the same environment (a restarted provider re-attaches by container labels).
* `provider_capacity` jobs held at once by each provider (`provider run --capacity`), `validator_workers`
  verifications at once by each validator (`validator run --workers`); 1 each by default, as the demo.
  `poll_interval_s` replaces the demo's idle poll of every node (None: the demo's).
* As root, each provider's data folder is a small tmpfs (`disk_mib`), so a fault can fill it; elsewhere
  `disk_fill_skipped` says why not.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from crowdcompute.chaos.proxy import CuttableProxy
from crowdcompute.demo.example_jobs import RUNTIME_IMAGE
from crowdcompute.demo.processes import ChildProcess, Supervisor
from crowdcompute.demo.stack import DemoStack, Node

__all__ = ["CHAOS_PROVIDER_ACCOUNTS", "CHAOS_VALIDATOR_ACCOUNTS", "ChaosStack", "RestartableSupervisor"]

CHAOS_PROVIDER_ACCOUNTS = (2, 3, 4)
CHAOS_VALIDATOR_ACCOUNTS = (5, 6, 7, 8, 9)
VALIDATOR_EXTRA_STAKES = 4  # minimum stakes added to the minimum each validator registers with


class RestartableSupervisor(Supervisor):
    """A `Supervisor` that remembers how it started each child, so it can start it again."""

    def __init__(self, root: Path, *, on_event: Callable[[str], None] | None = None) -> None:
        super().__init__(root, on_event=on_event)
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> ChildProcess:
        self.commands[name] = (list(argv), dict(env))
        return super().start(name, argv, env)

    def child(self, name: str) -> ChildProcess:
        with self._lock:
            for child in reversed(self.children):
                if child.name == name:
                    return child
        raise KeyError(f"no process named {name!r}")

    def kill(self, name: str) -> None:
        """SIGKILL the child's process group and forget it (its pid file entry included)."""
        child = self.child(name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(10)
        with self._lock:
            self.children.remove(child)
            self._save()

    def start_again(self, name: str) -> ChildProcess:
        argv, env = self.commands[name]
        return super().start(name, argv, env)

    def signal(self, name: str, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, KeyError):
            os.killpg(self.child(name).pid, signum)


class ChaosStack(DemoStack):
    """See the module docstring."""

    def __init__(
        self,
        root: Path,
        *,
        providers: int = 3,
        validators: int = 5,
        disk_mib: int = 256,
        log: Callable[[str], None] | None = None,
        provider_capacity: int = 1,
        validator_workers: int = 1,
        poll_interval_s: float | None = None,
    ) -> None:
        super().__init__(
            root,
            providers=providers,
            validators=validators,
            log=log,
            provider_accounts=CHAOS_PROVIDER_ACCOUNTS,
            validator_accounts=CHAOS_VALIDATOR_ACCOUNTS,
        )
        self.supervisor: RestartableSupervisor = RestartableSupervisor(self.root, on_event=log)
        self.disk_mib = disk_mib
        self.provider_capacity = provider_capacity
        self.validator_workers = validator_workers
        self.poll_interval_s = poll_interval_s
        self.proxy: CuttableProxy | None = None
        self.mounted: list[Path] = []
        self.disk_fill_skipped: str | None = None
        self.image_tag = f"{RUNTIME_IMAGE.rsplit(':', 1)[0]}:chaos-{os.getpid()}"

    @property
    def node_names(self) -> dict[str, list[str]]:
        return {
            "provider": [n.name for n in self.providers],
            "validator": [n.name for n in self.validators],
        }

    def provider_dir(self, index: int) -> Path:
        return self.providers[index].data_dir

    # -- hooks into DemoStack's start ---------------------------------------------------------------

    def _start(self) -> None:
        self._tag_runtime_image()
        super()._start()

    def _tag_runtime_image(self) -> None:
        """Tag the runtime image under a name of this run, so a rebuild of the shared tag meanwhile (the
        image's id changes) cannot make the nodes refuse the run's jobs."""
        import docker

        client = docker.from_env(timeout=60)
        try:
            client.images.get(RUNTIME_IMAGE).tag(self.image_tag)
        finally:
            client.close()

    def _untag_runtime_image(self) -> None:
        import docker

        with contextlib.suppress(Exception):
            client = docker.from_env(timeout=60)
            try:
                # noprune: only the tag goes; the image stays whatever else refers to it.
                client.images.remove(self.image_tag, noprune=True)
            finally:
                client.close()

    def _prepare_root(self) -> None:
        self._unmount()
        super()._prepare_root()
        self._mount_provider_disks()

    def _devnet_up(self) -> None:
        super()._devnet_up()
        host, port = self.rpc_url.removeprefix("http://").rsplit(":", 1)
        self.proxy = CuttableProxy(host, int(port)).start()
        self._log(f"rpc proxy: nodes dial {self.proxy.url}, which forwards to {self.rpc_url}")

    def _register_nodes(self) -> None:
        super()._register_nodes()
        # Validators stake more than the minimum: a seat a fault kept silent loses its bond, and a validator
        # at the minimum would drop off the roster after one (the demo's single job never meets this).
        for node in self.validators:
            market = self.market(node.account)
            market.stake(VALIDATOR_EXTRA_STAKES * market.config().min_validator_stake)

    def _role_argv(self, node: Node, *args: str) -> list[str]:
        if self.poll_interval_s is not None and "--poll-interval" in args:
            at = args.index("--poll-interval") + 1
            args = (*args[:at], f"{self.poll_interval_s:g}", *args[at + 1 :])
        argv = super()._role_argv(node, *args)
        if args[:1] == ("run",) and node.role == "provider" and self.provider_capacity > 1:
            argv += ["--capacity", str(self.provider_capacity)]
        if args[:1] == ("run",) and node.role == "validator" and self.validator_workers > 1:
            argv += ["--workers", str(self.validator_workers)]
        return argv

    def _role_env(self, node: Node) -> dict[str, str]:
        env = super()._role_env(node)
        if self.proxy is not None:
            env["CROWDCOMPUTE_RPC_URL"] = self.proxy.url
        return env

    def stop(self) -> None:
        super().stop()
        self._untag_runtime_image()
        if self.proxy is not None:
            self.proxy.stop()
        self._unmount()

    def summary(self) -> dict[str, Any]:
        return super().summary() | {"rpc_proxy": self.proxy.url if self.proxy else None}

    # -- provider disks ------------------------------------------------------------------------------

    def _mount_provider_disks(self) -> None:
        if os.geteuid() != 0:
            self.disk_fill_skipped = (
                "not root: mounting a size-limited tmpfs for a provider's disk needs root"
            )
            return
        for node in self.providers:
            node.data_dir.mkdir(parents=True, exist_ok=True)
            options = f"size={self.disk_mib}m,mode=0755"
            completed = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "crowdcompute-chaos", str(node.data_dir)],
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                self.disk_fill_skipped = f"mount -t tmpfs failed: {completed.stderr.strip()}"
                return
            self.mounted.append(node.data_dir)

    def _unmount(self) -> None:
        for path in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
        self.mounted.clear()
