"""A dishonest provider for the demo's `--cheat` flow: the real provider daemon with a forged result.

    python -m crowdcompute.demo.cheater --data-dir DIR --store-dir DIR [--gateway URL] [--poll-interval S]

(key, RPC URL and deployments folder from CROWDCOMPUTE_PRIVATE_KEY, CROWDCOMPUTE_RPC_URL and
CROWDCOMPUTE_DEPLOYMENTS_DIR, as for `crowdcompute provider run`.)

It claims, runs, pins and submits exactly as `crowdcompute provider run` does, but its executor rewrites
the job's output before it is packed: only the first quarter of the checkpoints are kept as trained; every
later checkpoint is the last trained state relabelled with a later step, and the manifest lists their
digests, so the committed Merkle root and the files agree. That is what a provider who skipped three
quarters of the training would hand in. Any sampled segment after the first quarter then fails its
replay, and the committee rejects the result; the demo shows the provider's collateral slashed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobs.executors import Executor
from jobs.executors.base import ExecutionId, ExecutionRequest, ExecutionResult, LogCallback, RunningExecution

__all__ = ["ForgingExecutor", "forge_lazy_result", "main"]

log = logging.getLogger("crowdcompute.demo.cheater")

HONEST_SHARE = 0.25


def forge_lazy_result(output_dir: Path, honest_share: float = HONEST_SHARE) -> int:
    """Replace the checkpoints after the first `honest_share` of them by copies of the last honest one.

    Returns how many checkpoints were forged. The manifest and `model.pt` are rewritten to match, so the
    forgery is consistent on its face and only a replay can tell.
    """
    from sdk.checkpoint import (
        MODEL_FILE,
        CheckpointEntry,
        checkpoint_file,
        load_checkpoint,
        read_manifest,
        save_checkpoint,
        save_object,
        write_manifest,
    )
    from sdk.digest import state_digest

    entries = read_manifest(output_dir)
    if len(entries) < 3:
        return 0
    last_honest = max(1, int((len(entries) - 1) * honest_share))
    kept = load_checkpoint(output_dir / checkpoint_file(last_honest))
    forged = list(entries[: last_honest + 1])
    for entry in entries[last_honest + 1 :]:
        state = {**kept.state, "step": entry.step}
        save_checkpoint(output_dir / entry.file, state, kept.threads)
        forged.append(CheckpointEntry(entry.index, state_digest(state), entry.step, entry.file))
    write_manifest(output_dir, forged)
    save_object(output_dir / MODEL_FILE, kept.state["model"])
    return len(entries) - last_honest - 1


class ForgingExecutor:
    """Runs executions on another executor, then forges each successful output (see the module)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self._outputs: dict[str, Path] = {}

    def start(self, request: ExecutionRequest, *, on_log: LogCallback | None = None) -> None:
        self._outputs[request.execution_id] = request.output_dir
        self.inner.start(request, on_log=on_log)

    def wait(self, execution_id: ExecutionId, timeout: float | None = None) -> ExecutionResult:
        result = self.inner.wait(execution_id, timeout)
        output = self._outputs.pop(execution_id, None)
        if result.ok and output is not None:
            count = forge_lazy_result(output)
            log.warning("execution %s: forged %d of its checkpoints (this node cheats)", execution_id, count)
        return result

    def cancel(self, execution_id: ExecutionId) -> None:
        self.inner.cancel(execution_id)

    def logs(self, execution_id: ExecutionId, *, follow: bool = True) -> Iterator[str]:
        return self.inner.logs(execution_id, follow=follow)

    def find_running(self) -> list[RunningExecution]:
        return self.inner.find_running()

    def reattach(self, execution_id: ExecutionId, *, on_log: LogCallback | None = None) -> None:
        self.inner.reattach(execution_id, on_log=on_log)

    def close(self) -> None:
        self.inner.close()


def withhold_keys(node: Any) -> None:
    """The node runs confidential jobs honestly but never seals their keys to the committee (nor the result
    key to the requester): every seat must find nothing to open and vote KeyWithheld."""

    told: set[int] = set()

    def never(job_id: int, attempt: int) -> bool:
        if job_id not in told:
            told.add(job_id)
            log.warning("job %d: withholding its keys from the committee (cheater)", job_id)
        return True

    node.sealing.reseal = never


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--store-dir", type=Path, required=True)
    parser.add_argument("--gateway", default=None)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument(
        "--mode",
        choices=("forge", "withhold-keys"),
        default="forge",
        help="forge: fake most checkpoints; withhold-keys: run honestly but never seal a confidential job's "
        "keys to its committee",
    )
    args = parser.parse_args(argv)
    from cli_support import (
        DEFAULT_DEPLOYMENTS,
        DEFAULT_DEVNET,
        connect,
        setup_daemon_logging,
        stop_on_signals,
    )

    setup_daemon_logging(as_json=False)  # the provider daemon's log, as `crowdcompute provider run` writes it
    from chain import Role
    from jobs.executors.docker import DockerExecutor
    from jobs.store import StoreSettings, open_store
    from node_base import node_label
    from provider_node.config import NodeConfig
    from provider_node.daemon import ProviderNode

    deployments = Path(os.environ.get("CROWDCOMPUTE_DEPLOYMENTS_DIR", str(DEFAULT_DEPLOYMENTS)))
    market = connect(os.environ.get("CROWDCOMPUTE_RPC_URL"), deployments, DEFAULT_DEVNET, None)
    config = NodeConfig(data_dir=args.data_dir, poll_interval_s=args.poll_interval, gateway_url=args.gateway)
    store = open_store(StoreSettings(store_dir=args.store_dir))
    # Labelled by its folder as `provider run` labels a node (node_base.node_label), marked as the cheater's.
    label = node_label(Role.PROVIDER, market.me, args.data_dir)
    docker_engine = DockerExecutor(node_id=f"cheater-{label}")
    engine = ForgingExecutor(docker_engine) if args.mode == "forge" else docker_engine
    node = ProviderNode(market, store, engine, config)
    if args.mode == "withhold-keys":
        withhold_keys(node)
    stop = stop_on_signals()
    try:
        node.run(stop)
    finally:
        engine.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
