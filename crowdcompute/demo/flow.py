"""The demo's story on a started stack: post the digits job, follow it to its verdict, check the result.

1. pin a copy of examples/digits_mlp to the local runtime image with a shortened schedule (the output
   says so), and post it as the requester (dev account 1), uploading the bundle through the gateway;
2. follow the chain (claim, submission, the committee drawn by stake, the votes revealed together by
   `finalize`, the verdict) while the job's own log lines come in through the gateway's log relay;
3. for an accepted job: download the result by the CID the provider committed, check its checkpoints
   against the committed Merkle root, and score the model on the held-out digits (evaluate.py);
4. the figures: gas of every transaction of the job, the provider's metered energy, and the
   validators' re-execution CPU against the provider's.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain import ChainError, JobId, JobStatus, JobView, Outcome, VoteReason, enum_label
from cli_support import token_amount
from crowdcompute.demo.errors import FlowError
from crowdcompute.demo.example_jobs import example_schedule
from crowdcompute.demo.figures import GasUse, VerificationCost, job_gas, provider_run, verification_cost
from crowdcompute.demo.narration import Narrator
from crowdcompute.demo.stack import REQUESTER_ACCOUNT, DemoStack
from crowdcompute.requester import (
    GatewayClient,
    RequesterError,
    WaitTimeout,
    accept_unanimous,
    download_result,
    result_of,
    state_of,
    submit_job,
    wait_for_status,
)
from crowdcompute.requester.confidential import KeyAgent, Released, open_result, salt_from_gateway
from jobs.commitments import checkpoint_commitment

__all__ = ["ACCEPT_POLL_S", "FlowError", "FlowResult", "FlowSettings", "run_flow"]

# Once the result is in, the requester looks for a unanimous acceptance this often (a read of the job and
# one `GET /jobs/{id}/votes`): the moment the last vote is in is when the job can be Accepted.
ACCEPT_POLL_S = 0.05


@dataclass(frozen=True)
class FlowSettings:
    example: str = "digits_mlp"
    interval: int = 100
    segments: int = 40
    timeout_s: float = 420.0
    expect: str = "Accepted"  # the verdict the flow must see ("Rejected" for a cheating provider)
    # The committee's voting window: with 1 s blocks, 75 seconds, so validators on a busy two-core machine
    # still vote in time; an appeal window as long follows before the job settles (nobody appeals here).
    verify_blocks: int = 75
    # The examples may run 900 s; a claim deadline a minute later leaves the provider time to pack and
    # submit (with the deadline equal to the run limit, the provider warns that the job is risky).
    run_timeout_s: int = 960
    # Reopen after a rejection (the dApp's default)? The cheating flow says no, so its first verdict stands.
    reopen_on_failure: bool = True
    # Settle a unanimous acceptance as the requester as soon as every seat voted (it waives its appeal),
    # rather than after the appeal window (`crowdcompute.requester.accept`).
    accept_early: bool = True
    # Post the job sealed (docs/confidential.md); the requester runs its key agent for the claim.
    confidential: bool = False


@dataclass
class FlowResult:
    job_id: JobId
    state: str
    provider: str  # the node's name in the stack (provider-1, cheater-1)
    provider_address: str
    accuracy: float | None
    examples: int | None
    gas: GasUse
    verification: VerificationCost
    energy: dict[str, Any] | None
    provider_cpu_s: float | None
    provider_run_s: float | None
    votes: tuple[int, int]
    committee: list[str]  # seat holders by name, seat by seat (drawn by stake, with replacement)
    timeline: dict[str, float]  # seconds from the submit call to each milestone
    result_dir: Path | None
    slashed: int = 0
    paid: int = 0
    schedule: dict[str, int] = field(default_factory=dict)
    verify_blocks: int = 0  # the job's voting window (and the appeal window after it), as posted
    started_at: float = 0.0  # Unix time of the submit call (the timeline's zero), to match the nodes' records

    @property
    def market_s(self) -> float:
        return self.timeline.get("closed", float("nan"))

    def to_json(self) -> dict[str, Any]:
        ratio = self.verification.ratio
        return {
            "job_id": self.job_id,
            "state": self.state,
            "accuracy": self.accuracy,
            "gas_total": self.gas.total,
            "reexec_ratio": round(ratio, 4) if ratio is not None else None,
            "gas_by_kind": self.gas.by_kind,
            "provider": self.provider_address,
            "votes": {"accepts": self.votes[0], "rejects": self.votes[1]},
            "committee": self.committee,
            "energy_kwh": self.energy.get("kwh") if self.energy else None,
            "energy_method": self.energy.get("method") if self.energy else None,
            "provider_cpu_s": self.provider_cpu_s,
            "validator_cpu_s": self.verification.cpu_s,
            "market_s": round(self.market_s, 2),
            "timeline_s": {k: round(v, 2) for k, v in self.timeline.items()},
            "slashed": str(self.slashed),
            "paid": str(self.paid),
            "schedule": self.schedule,
            "verify_blocks": self.verify_blocks,
        }


class _LogTail(threading.Thread):
    """Polls the gateway's log relay for the job and hands each new line to the narrator."""

    def __init__(self, gateway_url: str, job_id: JobId, narrator: Narrator) -> None:
        super().__init__(name=f"log-tail-{job_id}", daemon=True)
        self.gateway_url, self.job_id, self.narrator = gateway_url, job_id, narrator
        self.stopping = threading.Event()
        self.lines = 0

    def run(self) -> None:
        after = -1
        with GatewayClient(self.gateway_url, timeout_s=5) as gateway:
            while True:
                stopping = self.stopping.is_set()  # read before the last fetch, so no line is missed
                try:
                    page = gateway.read_logs(self.job_id, after=after)
                except RequesterError:
                    page = None  # the index may not know the job yet; the next poll tries again
                for line in page.lines if page else []:
                    after = max(after, line.seq)
                    self.lines += 1
                    self.narrator.job_log(line.text)
                if page is not None and page.next_after is not None:
                    continue  # more lines are stored than one page holds
                if stopping:
                    return
                self.stopping.wait(0.3)

    def finish(self) -> None:
        self.stopping.set()
        self.join(10)


class _Follower:
    """Prints each new event of the job once, and notes when each milestone was first seen."""

    def __init__(self, stack: DemoStack, narrator: Narrator, started: float, market: Any) -> None:
        self.names = {node.address.lower(): node.name for node in stack.nodes}
        self.market = market
        self.committee: list[str] = []
        self.narrator = narrator
        self.started = started
        self.seen: set[tuple[int, int]] = set()
        self.timeline: dict[str, float] = {}
        self.status: JobStatus | None = None

    def name(self, address: str) -> str:
        return self.names.get(str(address).lower(), str(address))

    def mark(self, milestone: str) -> None:
        self.timeline.setdefault(milestone, time.monotonic() - self.started)

    def __call__(self, view: JobView) -> None:
        self.status = view.status
        for event in view.events:
            if event.position in self.seen:
                continue
            self.seen.add(event.position)
            self._show(event.name, event.args, view)
        if view.status == JobStatus.OPEN:
            self.narrator.waiting("waiting for a provider to claim the job")
        elif view.status == JobStatus.CLAIMED:
            self.narrator.waiting("the provider is training (its log follows)")
        elif view.status == JobStatus.SUBMITTED:
            self.draw(view.job_id)
            self.narrator.waiting(
                "validators re-run sampled segments and hand their signed votes to the gateway; "
                "finalize reveals them together"
            )

    def draw(self, job_id: JobId) -> None:
        """The seat holders, once the block after the submission (the seed) is mined (once)."""
        if self.committee or self.status != JobStatus.SUBMITTED:
            return
        try:
            holders = self.market.committee_of(job_id)
        except ChainError:
            return  # the seed block is not mined yet
        if not holders:
            return
        self.committee = [self.name(holder) for holder in holders]
        seats = ", ".join(f"seat {seat} {name}" for seat, name in enumerate(self.committee))
        self.narrator.good(f"committee drawn by stake from the roster snapshot: {seats}")

    def _show(self, name: str, args: dict[str, Any], view: JobView) -> None:
        say = self.narrator
        if name == "JobClaimed":
            self.mark("claimed")
            say.good(f"claimed by {self.name(args['provider'])} ({args['provider']})")
        elif name == "ResultSubmitted":
            self.mark("submitted")
            result = result_of(view)
            cid = f"result {result.cid}, " if result else ""
            say.good(
                f"{self.name(args['provider'])} submitted its result: {cid}{args['checkpointCount']} "
                f"checkpoints under root 0x{bytes(args['checkpointRoot']).hex()[:16]}…"
            )
        elif name == "VoteCast":
            self.mark("revealed")  # by the finalize transaction, every vote at once
            evidence = args.get("evidence") or {}
            segment = evidence.get("segment")
            verdict = "accepts" if args["approve"] else "rejects"
            detail = f"re-ran segment {segment}: digests match"
            reason = VoteReason(int(evidence.get("reason", 0)))
            if not args["approve"] and reason != VoteReason.RECOMPUTED:
                detail = f"finding: {enum_label(reason)}"  # no segment was compared
            elif not args["approve"]:
                committed = bytes(evidence.get("committedDigest", b"")).hex()[:12]
                recomputed = bytes(evidence.get("recomputedDigest", b"")).hex()[:12]
                detail = f"segment {segment}: committed {committed}…, recomputed {recomputed}…"
            seat = f"seat {args['slot']}: " if "slot" in args else ""
            (say.good if args["approve"] else say.bad)(
                f"{seat}{self.name(args['validator'])} {verdict} ({detail})"
            )
        elif name == "JobFinalized":
            self.mark("closed")
            outcome = enum_label(Outcome(int(args["outcome"])))
            say.good(f"finalized: {outcome} ({args['accepts']} accept, {args['rejects']} reject)")
        elif name == "ProviderPaid":
            say.good(
                f"{self.name(args['provider'])} paid {token_amount(args['payment'])} "
                f"+ {token_amount(args['reward'])} reward"
            )
        elif name == "JobExpired":
            say.bad(f"expired: {self.name(args['provider'])} missed its deadline")
        elif name == "JobReopened":
            say.step(f"reopened (attempt {args['attempts']})")


def run_flow(stack: DemoStack, settings: FlowSettings, narrator: Narrator) -> FlowResult:
    """Post the example on `stack`, follow it to its verdict, and gather the figures."""
    full = example_schedule(settings.example)
    job_dir = stack.pinned_example(
        settings.example,
        stack.root / "jobs" / settings.example,
        interval=settings.interval,
        segments=settings.segments,
    )
    steps = settings.interval * settings.segments
    shortened = (settings.interval, settings.segments) != full
    narrator.step(
        f"job: examples/{settings.example} pinned to runtime image {stack.runtime_image_id[:19]}…, "
        f"{settings.segments} segments x {settings.interval} steps = {steps} steps"
    )
    if shortened:
        narrator.note(
            f"(shortened for the demo: the example's full schedule is {full[1]} x {full[0]} = "
            f"{full[0] * full[1]} steps; the pinned copy's job.toml carries the shorter one)"
        )
    narrator.segments = settings.segments
    requester = stack.market(REQUESTER_ACCOUNT)
    stakes = {node.address: requester.account_of(node.address).stake for node in stack.providers}

    started, started_at = time.monotonic(), time.time()
    follower = _Follower(stack, narrator, started, requester)
    agent = _start_key_agent(stack, requester, narrator) if settings.confidential else None
    try:
        return _post_and_follow(stack, settings, narrator, job_dir, requester, stakes, follower, started_at)
    finally:
        if agent is not None:
            agent.set()


def _start_key_agent(stack: DemoStack, requester: Any, narrator: Narrator) -> threading.Event:
    """The requester's key agent on a thread: it releases the content key to whoever claims the job."""
    stop = threading.Event()

    def said(released: Released) -> None:
        if released.block is not None:
            narrator.good(
                f"the key agent released the content key to {released.provider} (block {released.block})"
            )
        else:
            narrator.bad(f"no content key released to {released.provider}: {released.reason}")

    agent = KeyAgent(
        stack.market(REQUESTER_ACCOUNT),
        salt_from_gateway(stack.gateway_url),
        start_block=requester.rpc.block_number(),
        on_release=said,
    )
    threading.Thread(target=agent.serve, args=(stop, 0.1), name="key-agent", daemon=True).start()
    return stop


def _post_and_follow(
    stack: DemoStack,
    settings: FlowSettings,
    narrator: Narrator,
    job_dir: Path,
    requester: Any,
    stakes: Mapping[str, int],
    follower: _Follower,
    started_at: float,
) -> FlowResult:
    submitted = submit_job(
        requester,
        job_dir,
        gateway_url=stack.gateway_url,
        on_progress=narrator.note,
        verify_blocks=settings.verify_blocks,
        run_timeout=settings.run_timeout_s,
        reopen_on_failure=settings.reopen_on_failure,
        confidential=settings.confidential,
    )
    follower.mark("posted")
    narrator.good(
        f"posted job {submitted.job_id} as the requester {requester.me} (bundle {submitted.bundle_cid}, "
        f"gas {submitted.gas_used:,})"
    )
    # Only a narrator that shows the job's log needs it relayed (a benchmark's does not, and on a busy
    # machine the polling would take CPU from the job it measures).
    # A confidential job's log never leaves its provider.
    show_log = narrator.show_job_log and not settings.confidential
    tail = _LogTail(stack.gateway_url, submitted.job_id, narrator) if show_log else None
    if tail is not None:
        tail.start()
    try:
        view = _follow(stack, requester, submitted.job_id, follower, settings)
    finally:
        narrator.done_waiting()
        if tail is not None:
            tail.finish()
    follower.mark("closed")
    state = state_of(view)
    # Votes are revealed by finalize: the tally is in JobFinalized.
    final = next((e.args for e in view.events if e.name == "JobFinalized"), None)
    accepts, rejects = (int(final["accepts"]), int(final["rejects"])) if final else view.votes
    if state != settings.expect:
        raise FlowError(
            f"job {submitted.job_id} ended {state} ({accepts} accept, {rejects} reject), "
            f"not {settings.expect}; "
            f"the nodes' logs are in {stack.supervisor.logs}"
        )

    provider_address = view.job.state.provider
    node = next((n for n in stack.providers if n.address.lower() == str(provider_address).lower()), None)
    if node is None:
        raise FlowError(
            f"job {submitted.job_id} was run by {provider_address}, which is no node of this demo"
        )
    run = provider_run(node.data_dir, submitted.job_id)
    cost = verification_cost(
        [(v.name, v.data_dir) for v in stack.validators], submitted.job_id, run.cpu_s if run else None
    )
    gas = job_gas(requester.rpc, view, post_tx=submitted.tx_hash, post_gas=submitted.gas_used)
    stake_after = requester.account_of(node.address).stake
    paid = sum(int(e.args["payment"]) for e in view.events if e.name == "ProviderPaid")

    accuracy, examples, result_dir = None, None, None
    if state == "Accepted":
        result_dir = _fetch_and_check(stack, view, narrator, requester if settings.confidential else None)
        accuracy, examples = _evaluate(job_dir, result_dir)
        narrator.good(f"the model scores {accuracy:.4f} on {examples} held-out digits (evaluate.py)")
    return FlowResult(
        job_id=submitted.job_id,
        state=state,
        provider=node.name,
        provider_address=node.address,
        accuracy=accuracy,
        examples=examples,
        gas=gas,
        verification=cost,
        energy=run.energy if run else None,
        provider_cpu_s=run.cpu_s if run else None,
        provider_run_s=run.run_s if run else None,
        votes=(accepts, rejects),
        committee=follower.committee,
        timeline=follower.timeline,
        result_dir=result_dir,
        slashed=max(0, stakes.get(node.address, stake_after) - stake_after),
        paid=paid,
        schedule={
            "interval": settings.interval,
            "segments": settings.segments,
            "steps": settings.interval * settings.segments,
        },
        verify_blocks=settings.verify_blocks,
        started_at=started_at,
    )


def _follow(
    stack: DemoStack, requester: Any, job_id: JobId, follower: _Follower, settings: FlowSettings
) -> JobView:
    """Wait for the job to close, checking between short waits that every process of the stack lives. With
    `accept_early`, the requester settles a unanimous acceptance as soon as the gateway reveals the votes."""
    deadline = time.monotonic() + settings.timeout_s
    while True:
        stack.check()
        # Brisker once the result is in: verification takes seconds, and the moment the chain says
        # Accepted is when the job is done (bench/e2e.py measures up to it).
        submitted = follower.status == JobStatus.SUBMITTED
        accepting = submitted and settings.accept_early
        if accepting:
            accept_unanimous(requester, job_id, stack.gateway_url)
        try:
            return wait_for_status(
                requester,
                job_id,
                {JobStatus.CLOSED},
                # Accepting, the votes are looked for between two status reads: each wait is one read.
                timeout_s=ACCEPT_POLL_S if accepting else 0.25 if submitted else 1.0,
                poll_s=ACCEPT_POLL_S if accepting else 0.1 if submitted else 0.2,
                on_change=follower,
            )
        except WaitTimeout as exc:
            follower.draw(job_id)
            if time.monotonic() >= deadline:
                raise FlowError(
                    f"job {job_id} did not close within {settings.timeout_s:g} s ({exc}); "
                    f"the nodes' logs are in {stack.supervisor.logs}"
                ) from None


def _fetch_and_check(stack: DemoStack, view: JobView, narrator: Narrator, requester: Any = None) -> Path:
    """Download the result through the gateway (verified against its CID), open it when sealed (with the
    requester's result key), and check its commitment."""
    dest = stack.root / "results" / f"job-{view.job_id}"
    opener = None
    if requester is not None:
        opener = functools.partial(
            open_result, requester, view.job_id, view.job, int(view.job.state.attempts)
        )
    download_result(view, dest, gateway_url=stack.gateway_url, open_sealed=opener)
    if opener is not None:
        narrator.good("the sealed result opened with the result key its provider sealed to the requester")
    committed = result_of(view)
    assert committed is not None  # an accepted job has a result
    local = checkpoint_commitment(dest)
    if (local.root, local.count) != (committed.checkpoint_root, committed.checkpoint_count):
        raise FlowError(
            f"the downloaded result of job {view.job_id} lists {local.count} checkpoints under root "
            f"0x{local.root.hex()}, but the provider committed {committed.checkpoint_count} under "
            f"0x{committed.checkpoint_root.hex()}"
        )
    narrator.good(
        f"downloaded result {committed.cid} to {dest}: its {local.count} checkpoint digests match the "
        "committed Merkle root"
    )
    return dest


def _evaluate(job_dir: Path, result_dir: Path) -> tuple[float, int]:
    """Run the example's evaluate.py on the downloaded model (on the host, with the venv's torch)."""
    completed = subprocess.run(
        [sys.executable, str(job_dir / "evaluate.py"), str(result_dir)],
        cwd=job_dir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TORCH_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "evaluation":
                return float(record["accuracy"]), int(record["examples"])
    raise FlowError(
        f"evaluate.py printed no evaluation (exit {completed.returncode}): {completed.stderr.strip()[-500:]}"
    )
