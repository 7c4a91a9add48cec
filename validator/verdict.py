"""Judging a provider's work from what a replay recomputed: pure functions, no chain, no Docker.

A verdict is a vote (accept or reject) with its evidence, or an abstention with its reason. Evidence is
what the contract records in the `VoteCast` event: `segment` names what was compared, `committedDigest`
what the provider committed, `recomputedDigest` what this validator got:

* `segment = i` for checkpoint i's digest (`init` compares checkpoint 0; a replay of segment i compares
  checkpoint i + 1; `final` compares the last checkpoint; a shard j compares leaf j);
* `segment = WITHHELD` when the provider's result cannot be had (committed = the result's digest);
* `segment = BAD_COMMITMENT` when the result's checkpoint list does not hash to the committed root
  (committed = the root, recomputed = the root of the list found);
* `segment = EXCEEDED_RESOURCES` when the re-run was killed at the memory limit the job declares: the
  provider's result could not have come from a run within the declared resources (committed = the
  checkpoint root);
* `segment = FAILURE_SEGMENT` when the result is a failure report (`jobs.failure`) and the job was re-run
  to see whether it fails the same way (committed = the reported outcome's digest, recomputed = the
  digest of the re-run's outcome, zero when it succeeded): equal digests approve.

Every rejection also names its `reason` (`VoteReason`): `RESULT_WITHHELD`, `BAD_COMMITMENT`,
`EXCEEDS_DECLARED_RESOURCES` for the three cases above, `RECOMPUTED` when digests were compared. The
contract refuses an accepting vote with any reason but `RECOMPUTED`.

On acceptance the evidence is the first sampled comparison, so anyone can check it against the checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chain import ZERO_BYTES32, Evidence, VoteReason
from jobs.commitments import merkle_proof, merkle_root, verify_merkle_proof
from jobs.executors import ExecutionResult, ExecutionState
from jobs.failure import FAILURE_SEGMENT, FailureKind, FailureOutcome

__all__ = [
    "BAD_COMMITMENT",
    "EXCEEDED_RESOURCES",
    "FAILURE_SEGMENT",
    "KEY_WITHHELD",
    "WITHHELD",
    "Verdict",
    "abstain",
    "check_commitment",
    "judge_failure",
    "judge_replicate",
    "judge_segments",
    "judge_shards",
    "reject",
    "resource_finding",
]

WITHHELD = 2**32 - 1
BAD_COMMITMENT = 2**32 - 2
EXCEEDED_RESOURCES = 2**32 - 3
KEY_WITHHELD = 2**32 - 5  # (2**32 - 4 is jobs.failure.FAILURE_SEGMENT)

# The finding each sentinel segment records; any other segment is a comparison of digests.
_FINDINGS = {
    WITHHELD: VoteReason.RESULT_WITHHELD,
    BAD_COMMITMENT: VoteReason.BAD_COMMITMENT,
    EXCEEDED_RESOURCES: VoteReason.EXCEEDS_DECLARED_RESOURCES,
    KEY_WITHHELD: VoteReason.KEY_WITHHELD,
}


@dataclass(frozen=True)
class Verdict:
    """approve: True accept, False reject, None abstain (no vote is sent)."""

    approve: bool | None
    reason: str
    evidence: Evidence = field(default_factory=Evidence)
    segments: tuple[str, ...] = ()
    cpu_s: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return {True: "accept", False: "reject", None: "abstain"}[self.approve]

    def with_cost(self, segments: Sequence[str], cpu_s: float | None) -> Verdict:
        return Verdict(self.approve, self.reason, self.evidence, tuple(segments), cpu_s, self.details)


def abstain(reason: str) -> Verdict:
    return Verdict(None, reason)


def reject(reason: str, segment: int, committed: bytes, recomputed: bytes = ZERO_BYTES32) -> Verdict:
    """A rejection; a sentinel `segment` (WITHHELD, BAD_COMMITMENT, EXCEEDED_RESOURCES) also sets the
    evidence's `reason`."""
    finding = _FINDINGS.get(segment, VoteReason.RECOMPUTED)
    return Verdict(False, reason, Evidence(segment, committed, recomputed, finding))


def resource_finding(result: ExecutionResult, what: str, checkpoint_root: bytes) -> Verdict | None:
    """For a re-run that ended without its output: a rejection when it was killed at the job's declared
    memory limit (the provider cannot have produced its result within the resources the job declares:
    EXCEEDS_DECLARED_RESOURCES); None otherwise. A timeout, a crash or a lost container may be this
    validator's own problem (slower hardware, its engine), so they are no finding."""
    if result.state is not ExecutionState.OOM_KILLED:
        return None
    return reject(
        f"the {what} could not run in the resources the job declares ({result.reason})",
        EXCEEDED_RESOURCES,
        checkpoint_root,
    )


def _hex(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def check_commitment(
    digests: Sequence[bytes], root: bytes, count: int, sampled_leaves: Sequence[int]
) -> Verdict | None:
    """A rejection when the result's checkpoint list is not what was committed; None when it is.

    The whole list is hashed (the validator has it), and the proofs of the leaves it will compare are
    checked too, which is all a validator holding only those leaves could do."""
    found = merkle_root(list(digests))
    if len(digests) != count or found != root:
        return reject(
            f"the result lists {len(digests)} checkpoints with root 0x{found.hex()}, but the provider "
            f"committed {count} with root 0x{root.hex()}",
            BAD_COMMITMENT,
            root,
            found,
        )
    for leaf in sampled_leaves:
        proof = merkle_proof(list(digests), leaf)
        if not verify_merkle_proof(digests[leaf], leaf, count, proof, root):  # pragma: no cover - a bug
            return reject(f"leaf {leaf} has no valid Merkle proof", BAD_COMMITMENT, root, found)
    return None


def _entries(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = document.get("replays")
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, Mapping)]


def _within(entry: Mapping[str, Any], tolerance: float) -> bool:
    distance = entry.get("distance")
    if not isinstance(distance, Mapping):
        return False
    value = distance.get("rel_l2")
    return isinstance(value, int | float) and value <= tolerance


def judge_segments(
    document: Mapping[str, Any],
    digests: Sequence[bytes],
    sampled: Sequence[int],
    *,
    tolerance: float | None = None,
) -> Verdict:
    """Judge a segments replay (`sdk.replay`'s replay.json) against the committed checkpoint digests.

    Every requested item must be present: `init`, each sampled segment, `final`. A missing or failed
    item that the provider's checkpoint files explain (an entry with "error") is a rejection: the
    provider had to keep every checkpoint it committed."""
    last = len(digests) - 1
    by_key: dict[str, Mapping[str, Any]] = {str(entry.get("segment")): entry for entry in _entries(document)}
    first_evidence: Evidence | None = None
    checked = 0
    for key in ["init", *map(str, sampled), "final"]:
        entry = by_key.get(key)
        if entry is None:
            return abstain(f"the replay produced no answer for segment {key}: the job's code may not replay")
        if key == "init":
            index, committed = 0, digests[0]
        elif key == "final":
            index, committed = last, digests[last]
        else:
            index, committed = int(key) + 1, digests[int(key) + 1]
        if "error" in entry:
            return reject(
                f"segment {key}: the provider's checkpoint could not be used: {entry['error']}",
                index,
                committed,
            )
        recomputed = _hex(entry.get("digest"))
        if recomputed is None:
            return abstain(f"segment {key}: the replay's answer has no digest")
        if key not in ("init", "final"):
            start = _hex(entry.get("start_digest"))
            if start != digests[int(key)]:
                return reject(
                    f"segment {key}: checkpoint {key} in the result does not hold its committed state",
                    int(key),
                    digests[int(key)],
                    start or ZERO_BYTES32,
                )
        if recomputed != committed:
            close = (
                tolerance is not None
                and key not in ("init", "final")
                and _hex(entry.get("claimed_digest")) == committed
                and _within(entry, tolerance)
            )
            if not close:
                what = {
                    "init": "checkpoint 0 is not a fresh initialisation of the job",
                    "final": "the last checkpoint does not recompute",
                }.get(key, f"re-running segment {key} gives another state than checkpoint {index}")
                return reject(f"{what} (committed 0x{committed.hex()[:16]}...)", index, committed, recomputed)
        if key == "final" and entry.get("model_matches") is not True:
            return reject(
                "model.pt in the result is not the model of the last checkpoint", index, committed, recomputed
            )
        if first_evidence is None and key not in ("init", "final"):
            first_evidence = Evidence(index, committed, recomputed)
        checked += 1
    evidence = first_evidence or Evidence(last, digests[last], digests[last])
    return Verdict(
        True, f"{checked} checks matched the commitment (init, {len(sampled)} segments, final)", evidence
    )


def judge_shards(document: Mapping[str, Any], digests: Sequence[bytes], sampled: Sequence[int]) -> Verdict:
    """Judge a shards replay ({"replays": [{"shard": j, "digest": ...}]}) against the committed leaves."""
    found = {entry.get("shard"): entry for entry in _entries(document)}
    first: Evidence | None = None
    for shard in sampled:
        entry = found.get(shard)
        if entry is None:
            return abstain(f"the replay produced no answer for shard {shard}")
        recomputed = _hex(entry.get("digest"))
        if recomputed is None:
            return abstain(f"shard {shard}: the replay's answer has no digest")
        if recomputed != digests[shard]:
            return reject(f"shard {shard} recomputes to another output", shard, digests[shard], recomputed)
        first = first or Evidence(shard, digests[shard], recomputed)
    return Verdict(True, f"{len(sampled)} shards matched", first or Evidence())


def judge_replicate(committed: bytes, recomputed: bytes, what: str) -> Verdict:
    """Judge a whole re-run: the committed root (or result digest) against this validator's own."""
    if recomputed == committed:
        return Verdict(True, f"the re-run gives the committed {what}", Evidence(0, committed, recomputed))
    return reject(f"the re-run gives another {what} than the one committed", 0, committed, recomputed)


def judge_failure(reported: FailureOutcome, rerun: ExecutionResult) -> Verdict:
    """Judge a failure report against an honest re-run in the limits the job declares.

    The same failure (kind, and exit code for `exit`) approves: the requester's code is at fault and the
    provider earned its pay. A success, or another failure, rejects: the provider reported a failure it did
    not have, to skip the work. A re-run that ends in a way this node may have caused (lost, cancelled), or
    that times out where the report says otherwise (this node may be slower), abstains."""
    committed = reported.digest
    if rerun.ok:
        return reject(
            f"the provider reported that the job {reported}, but it succeeded when re-run",
            FAILURE_SEGMENT,
            committed,
        )
    observed = FailureOutcome.of(rerun)
    if observed is None:
        return abstain(f"the re-run ended in a way that says nothing ({rerun.state.value}: {rerun.reason})")
    if observed == reported:
        return Verdict(
            True,
            f"the re-run failed the same way: the job {reported} ({rerun.reason})",
            Evidence(FAILURE_SEGMENT, committed, observed.digest),
        )
    if observed.kind is FailureKind.TIMEOUT:
        return abstain(f"the re-run timed out, where the provider reported that the job {reported}")
    return reject(
        f"the provider reported that the job {reported}, but when re-run it {observed}",
        FAILURE_SEGMENT,
        committed,
        observed.digest,
    )
