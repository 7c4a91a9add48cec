"""Dishonest parties, scripted: providers that cut corners on a verifiable job, and a lazy validator.

A scripted provider claims a job on the real market, produces an output folder on the host with the job's
own training script (`TrainingLoop` is bit-identical on the host and in the runtime image, see
tests/sdk/test_replay_in_container.py), tampers with it as its cheat says, packs it exactly as the
provider node does (`jobs.bundle.output`), adds it to the shared store (or not: withholding) and commits the
Merkle root of the manifest's digests with `submitResult`. Each cheat keeps the digests consistent with
the files it publishes, so the commitment itself is well formed and only re-execution can catch it.

The lazy validator is the real daemon whose verifier votes accept without fetching or re-running anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from chain import DevChain, Evidence, MarketClient, ResultCommitment
from jobs.bundle import pack_output
from jobs.cid import Cid
from jobs.commitments import checkpoint_commitment, checkpoint_digests
from jobs.store import ContentStore
from sdk import LiveState, TrainingLoop, dataset_batches
from sdk.checkpoint import MODEL_FILE, save_object
from validator.daemon import ValidatorNode
from validator.verdict import Verdict
from validator.verify import Submission, Verifier

__all__ = [
    "Cheat",
    "LazyValidatorNode",
    "LazyVerifier",
    "ScriptedProvider",
    "Submitted",
    "honest",
    "honest_unique",
    "other_data",
    "random_final_model",
    "skip_steps",
    "withhold_checkpoints",
]

# A cheat: (the job's honest loop, the job's training script module, output folder) -> trains into it.
Cheat = Callable[[TrainingLoop, ModuleType, Path], None]


def load_training_script(job_dir: Path) -> ModuleType:
    """The job's train.py as a module (its data paths resolve inside `job_dir`)."""
    name = f"cheater_train_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, job_dir / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def host_torch() -> Iterator[None]:
    """Training in this process switches torch to deterministic kernels and one thread; put them back."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    saved = {
        name: os.environ.get(name) for name in ("TORCHINDUCTOR_DETERMINISTIC", "CUBLAS_WORKSPACE_CONFIG")
    }
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- the cheats --------------------------------------------------------------------------------------


def honest(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """The real work, on the host: what the other cheats start from."""
    loop.train(out, resume=False)


@dataclass(frozen=True)
class _SkippingLoop(TrainingLoop):
    """Trains only the first `keep` share of each segment's steps, then claims the segment's end step."""

    keep: float = 0.5

    def run_until(self, live: LiveState, end: int) -> list[float]:
        todo = end - live.step
        losses = [self.train_step(live) for _ in range(max(1, int(todo * self.keep)))]
        live.step = end  # the checkpoint says it got there
        return losses


def skip_steps(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """(a) Half the steps of every segment skipped; checkpoints and digests written as if all had run."""
    values = {f.name: getattr(loop, f.name) for f in dataclasses.fields(loop)}
    _SkippingLoop(**values, keep=0.5).train(out, resume=False)


def random_final_model(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """(b) Honest checkpoints, but model.pt replaced by an untrained model of another seed."""
    loop.train(out, resume=False)
    torch.manual_seed(12345)
    save_object(out / MODEL_FILE, script.make_model().state_dict())


def other_data(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """(c) The same schedule on other data: the training labels shuffled (a cheaper or poisoned dataset)."""
    images, labels = script.load_split("train")
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(99))]
    cheap = dataclasses.replace(loop, batch=dataset_batches(images, shuffled, script.BATCH_SIZE))
    cheap.train(out, resume=False)


def withhold_checkpoints(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """(d) Honest training and manifest, but the checkpoint files are not published (only model.pt is)."""
    loop.train(out, resume=False)
    for path in (out / "checkpoints").glob("ckpt_*.pt"):
        path.unlink()


def honest_unique(loop: TrainingLoop, script: ModuleType, out: Path) -> None:
    """Honest work plus a file no other run writes, so its archive (and CID) is this run's alone: the
    result a withholding provider keeps to itself cannot turn up in a shared store from another test."""
    loop.train(out, resume=False)
    (out / "run-id.txt").write_text(uuid.uuid4().hex)


# -- the scripted provider ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What the cheater put on chain, and the digests its manifest lists (what it committed to)."""

    job_id: int
    cid: Cid
    commitment: ResultCommitment
    digests: list[bytes]
    published: bool


class ScriptedProvider:
    """A registered provider account that claims jobs and submits whatever its cheat produces."""

    def __init__(self, market: MarketClient, store: ContentStore, job_dir: Path, work_dir: Path) -> None:
        self.market = market
        self.store = store
        self.job_dir = job_dir
        self.work_dir = work_dir
        self.script = load_training_script(job_dir)

    def loop(self) -> TrainingLoop:
        """The job's honest loop, on one thread as the sandbox (cpus = 1) runs it."""
        loop: TrainingLoop = self.script.build_loop(self.job_dir)
        return dataclasses.replace(loop, threads=1)

    def produce(self, cheat: Cheat, name: str) -> Path:
        out = self.work_dir / name / "output"
        shutil.rmtree(out.parent, ignore_errors=True)
        out.mkdir(parents=True)
        with host_torch():
            cheat(self.loop(), self.script, out)
        return out

    def run(self, job_id: int, cheat: Cheat, *, publish: bool = True) -> Submitted:
        """Claim `job_id`, produce the output with `cheat`, pack it, publish it (or not) and submit."""
        self.market.claim_job(job_id)
        out = self.produce(cheat, f"job-{job_id}-{getattr(cheat, '__name__', 'cheat')}")
        return self.submit(job_id, out, publish=publish)

    def submit(self, job_id: int, out: Path, *, publish: bool = True) -> Submitted:
        """Pack `out` as the provider node does; add and pin it (publish) or only hash it; submit."""
        commitment = checkpoint_commitment(out)
        packed = pack_output(out, out.parent / "result.tar")
        cid = self.store.add_file(packed.path, pin=True, only_hash=not publish)
        digest, codec = cid.to_chain()
        result = ResultCommitment(
            result_digest=digest,
            checkpoint_root=commitment.root,
            checkpoint_count=commitment.count,
            result_codec=codec,
        )
        self.market.submit_result(job_id, result)
        DevChain(self.market.rpc).mine(1)  # the seed block: on a live chain the next block comes anyway
        return Submitted(job_id, cid, result, checkpoint_digests(out), publish)


# -- the lazy validator ------------------------------------------------------------------------------


class LazyVerifier(Verifier):
    """Votes accept on everything, fetching nothing and re-running nothing; counts what it waved through."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waved: list[int] = []

    def verify(self, submission: Submission, *, tries: int = 0) -> Verdict:
        self.waved.append(submission.job_id)
        committed = submission.checkpoint_root
        return Verdict(True, "looks fine (not checked)", Evidence(0, committed, committed))


class LazyValidatorNode(ValidatorNode):
    """The real daemon (events, seat, vote, settle) with the lazy verifier in place of the real one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        real = self.verifier
        self.verifier = LazyVerifier(real.store, real.executor, real.bundles, real.work_dir, real.me)
