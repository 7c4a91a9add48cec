"""Rebuild a job (`Job` = spec + state) from its events and check it against `jobWord(jobId)`.

The chain keeps one word per live job; every job call needs the whole struct back as calldata. The store
caches what it rebuilt, folds in events it is handed (`apply`, from receipts or an event follower), and
fetches only the events after what it already knows when the word has moved on.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain.abi import ContractCodec, DecodedLog, encode_params
from chain.errors import JobDataStale, JobNotFound
from chain.events import EventReader
from chain.rpc import Rpc
from chain.types import (
    JOB_WORD_HASH_SHIFT,
    JOB_WORD_STATUS_SHIFT,
    BlockNumber,
    Bytes32,
    Job,
    JobId,
    JobSpec,
    JobState,
    JobStatus,
    Outcome,
    ReleaseReason,
)

log = logging.getLogger(__name__)


def job_events(codec: ContractCodec) -> tuple[str, ...]:
    """The market's events about one job: those whose first argument is an indexed `jobId` (from the ABI)."""
    names = []
    for name, event in codec.events.items():
        inputs = event.entry.get("inputs", [])
        if inputs and inputs[0].get("name") == "jobId" and inputs[0].get("indexed"):
            names.append(name)
    return tuple(names)


# Each part of the word runs up to where the next one starts (Types.sol, JOB_WORD_*_SHIFT).
_HASH_MASK = (2**256 - 1) >> JOB_WORD_HASH_SHIFT << JOB_WORD_HASH_SHIFT
_STATUS_MASK = 0xFF


def result_hash(
    result_digest: bytes, result_codec: int, checkpoint_root: bytes, checkpoint_count: int
) -> Bytes32:
    """What `submitResult` stores in `JobState.resultHash`."""
    encoded = abi_encode(
        ["bytes32", "uint8", "bytes32", "uint32"],
        [result_digest, result_codec, checkpoint_root, checkpoint_count],
    )
    return Bytes32(keccak(encoded))


@dataclass(frozen=True)
class JobWord:
    """The stored word: hash bits and the status."""

    raw: int

    @property
    def status(self) -> JobStatus:
        return JobStatus((self.raw >> JOB_WORD_STATUS_SHIFT) & _STATUS_MASK)

    def matches(self, job_hash: bytes) -> bool:
        return (self.raw & _HASH_MASK) == (int.from_bytes(job_hash, "big") & _HASH_MASK)


@dataclass(frozen=True)
class JobView:
    """A job as the chain has it now, with what its events say about how it got there."""

    job_id: JobId
    job: Job
    status: JobStatus
    outcome: Outcome | None = None
    closed_by: str | None = None
    events: tuple[DecodedLog, ...] = field(default=(), repr=False)
    final_votes: tuple[int, int] | None = None

    @property
    def votes(self) -> tuple[int, int]:
        """(accepts, rejects) of the current attempt: none while the job is live (votes are revealed together
        by `finalize`), the `JobFinalized` event's counts once it settled."""
        return self.final_votes if self.final_votes is not None else (0, 0)


@dataclass
class _Folded:
    job: Job | None = None
    closed_by: str | None = None
    outcome: Outcome | None = None
    final_votes: tuple[int, int] | None = None
    last_block: int = -1
    events: list[DecodedLog] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def fold(self, event: DecodedLog) -> None:
        if event.position in self.seen:
            return
        self.seen.add(event.position)
        self.events.append(event)
        self.last_block = max(self.last_block, event.block_number)
        args = event.args
        name = event.name
        if name == "JobPosted":
            self.job = Job(spec=JobSpec.from_abi(args["spec"]))
            self.closed_by = None
            self.final_votes = None
        elif self.job is None:
            return
        elif name == "JobClaimed":
            state = dataclasses.replace(self.job.state, provider=args["provider"], deadline=args["deadline"])
            self.job = dataclasses.replace(self.job, state=state)
        elif name == "ResultSubmitted":
            state = dataclasses.replace(
                self.job.state,
                submit_block=BlockNumber(event.block_number),
                roster_root=Bytes32(args["rosterRoot"]),
                result_hash=result_hash(
                    args["resultDigest"], args["resultCodec"], args["checkpointRoot"], args["checkpointCount"]
                ),
            )
            self.job = dataclasses.replace(self.job, state=state)
        elif name == "JobAppealed":
            state = dataclasses.replace(
                self.job.state,
                round=int(args["round"]),
                submit_block=BlockNumber(event.block_number),
                roster_root=Bytes32(args["rosterRoot"]),
            )
            self.job = dataclasses.replace(self.job, state=state)
        elif name == "JobReopened":
            self.job = dataclasses.replace(self.job, state=JobState(attempts=args["attempts"]))
            self.closed_by = None
            self.final_votes = None
        elif name == "JobFinalized":
            self.outcome = Outcome(args["outcome"])
            self.final_votes = (int(args["accepts"]), int(args["rejects"]))
            self.closed_by = name
        elif name == "ClaimReleased":
            if ReleaseReason(args["reason"]) == ReleaseReason.KEY_NOT_RELEASED:
                # Given back free: open again as it was, attempts unchanged.
                self.job = dataclasses.replace(self.job, state=JobState(attempts=self.job.state.attempts))
            else:
                # The collateral was burned and the job failed: closed, unless a JobReopened follows.
                self.closed_by = name
        elif name in ("JobCancelled", "JobExpired"):
            self.closed_by = name


LOAD_TRIES = 3


class JobStore:
    """Jobs of one market, rebuilt from events and verified against the stored word."""

    def __init__(self, rpc: Rpc, market: str, codec: ContractCodec, *, start_block: int = 0) -> None:
        self.rpc = rpc
        self.market = market
        self.codec = codec
        self.start_block = start_block
        self._job_param = codec.function_inputs("hashJob")[0]
        self.job_events = frozenset(job_events(codec))
        self._jobs: dict[int, _Folded] = {}
        self._lock = threading.Lock()

    def hash_job(self, job: Job) -> Bytes32:
        """keccak256(abi.encode(job)), as the contract hashes it."""
        return Bytes32(keccak(encode_params([self._job_param], [job.to_abi()])))

    def word(self, job_id: JobId, block: int | str = "latest") -> JobWord:
        fn = self.codec.function("jobWord")
        raw = self.rpc.call({"to": self.market, "data": fn.encode(job_id)}, block)
        return JobWord(int.from_bytes(fn.decode_output(raw), "big"))

    def apply(self, events: Iterable[DecodedLog]) -> None:
        """Fold events already in hand (a receipt's logs, a follower's batch) into the cache."""
        with self._lock:
            for event in sorted(events, key=lambda e: e.position):
                job_id = event.args.get("jobId")
                if event.name in self.job_events and job_id is not None:
                    self._jobs.setdefault(int(job_id), _Folded()).fold(event)

    def load(self, job_id: JobId) -> JobView:
        """The job now: `JobNotFound` for an id never posted, `JobDataStale` if events and word disagree.

        Another thread may fold a newer receipt's events into the cache while this reads (clients made
        with `with_account` share it), leaving the events one block ahead of the word just read; a few
        fresh reads settle that before the disagreement counts as stale data.
        """
        for _ in range(LOAD_TRIES - 1):
            view = self._load_once(job_id)
            if view is not None:
                return view
        view = self._load_once(job_id)
        if view is None:
            raise JobDataStale(job_id)
        return view

    def _load_once(self, job_id: JobId) -> JobView | None:
        word = self.word(job_id)
        with self._lock:
            folded = self._jobs.setdefault(job_id, _Folded())
        if not self._consistent(folded, word):
            # Pin one block so the word and the logs describe the same state.
            head = self.rpc.block_number()
            word = self.word(job_id, head)
            self._fetch(job_id, folded, folded.last_block + 1, head)
            if not self._consistent(folded, word):
                # Something was missed (a reorg, a partial apply): start again from the deployment.
                folded = _Folded()
                self._fetch(job_id, folded, self.start_block, head)
                with self._lock:
                    self._jobs[job_id] = folded
        if folded.job is None:
            raise JobNotFound(job_id)
        if not self._consistent(folded, word):
            return None
        status = word.status if word.raw else JobStatus.CLOSED
        return JobView(
            job_id=JobId(job_id),
            job=folded.job,
            status=status,
            outcome=folded.outcome if status == JobStatus.CLOSED else None,
            closed_by=folded.closed_by if status == JobStatus.CLOSED else None,
            events=tuple(folded.events),
            final_votes=folded.final_votes if status == JobStatus.CLOSED else None,
        )

    def job(self, job_id: JobId) -> Job:
        """Just the struct, for calldata."""
        return self.load(job_id).job

    def _consistent(self, folded: _Folded, word: JobWord) -> bool:
        if folded.job is None:
            return False
        if word.raw == 0:
            return folded.closed_by is not None
        return folded.closed_by is None and word.matches(self.hash_job(folded.job))

    def _fetch(self, job_id: JobId, folded: _Folded, start: int, end: int) -> None:
        if end < start:
            return
        reader = EventReader(
            self.rpc,
            self.market,
            self.codec,
            sorted(self.job_events),
            start_block=start,
            batch_blocks=100_000,
            topic_filters=["0x" + job_id.to_bytes(32, "big").hex()],
        )
        events: list[DecodedLog] = []
        while reader.next_block <= end:
            batch = reader.poll()
            events.extend(batch.events)
            if batch.empty_range:
                break
        with self._lock:
            for event in events:
                if event.block_number <= end:
                    folded.fold(event)
            folded.last_block = max(folded.last_block, end)
