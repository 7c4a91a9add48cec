"""validator/verdict.py: the judging rules, fed real Merkle trees (jobs/commitments.py) and replay documents
shaped as sdk/replay.py and sdk/shards.py write them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from chain import ZERO_BYTES32, Evidence, VoteReason
from jobs.commitments import merkle_root
from jobs.executors import ExecutionId, ExecutionResult, ExecutionState
from validator.verdict import (
    BAD_COMMITMENT,
    EXCEEDED_RESOURCES,
    WITHHELD,
    Verdict,
    abstain,
    check_commitment,
    judge_replicate,
    judge_segments,
    judge_shards,
    reject,
    resource_finding,
)

# 9 checkpoints d_0..d_8: 8 segments (segment i runs from checkpoint i to checkpoint i + 1).
DIGESTS = [hashlib.sha256(f"checkpoint {i}".encode()).digest() for i in range(9)]
ROOT = merkle_root(DIGESTS)
SAMPLED = [2, 5]


def other(index: int) -> bytes:
    return hashlib.sha256(f"something else {index}".encode()).digest()


def segment(index: int, **changes: Any) -> dict[str, Any]:
    """An honest replay of segment `index`: it starts from d_index and reaches d_index+1."""
    entry: dict[str, Any] = {
        "segment": index,
        "start_step": index * 10,
        "step": (index + 1) * 10,
        "start_digest": DIGESTS[index].hex(),
        "digest": DIGESTS[index + 1].hex(),
    }
    entry.update(changes)
    return entry


def honest(sampled: list[int] = SAMPLED) -> dict[str, Any]:
    return {
        "replays": [
            {"segment": "init", "step": 0, "digest": DIGESTS[0].hex()},
            *(segment(i) for i in sampled),
            {"segment": "final", "step": 80, "digest": DIGESTS[-1].hex(), "model_matches": True},
        ],
        "total_steps": 80,
        "checkpoint_interval": 10,
        "checkpoints": len(DIGESTS),
    }


def replace_entry(document: dict[str, Any], key: str | int, **changes: Any) -> dict[str, Any]:
    entries = []
    for entry in document["replays"]:
        if entry["segment"] == key:
            entry = {**entry, **changes}
        entries.append(entry)
    return {**document, "replays": entries}


def drop_entry(document: dict[str, Any], key: str | int) -> dict[str, Any]:
    return {**document, "replays": [e for e in document["replays"] if e["segment"] != key]}


FINDINGS = {BAD_COMMITMENT: VoteReason.BAD_COMMITMENT, WITHHELD: VoteReason.RESULT_WITHHELD}


def assert_rejected(verdict: Verdict, segment_: int, committed: bytes, recomputed: bytes) -> None:
    assert verdict.approve is False and verdict.label == "reject", verdict
    finding = FINDINGS.get(segment_, VoteReason.RECOMPUTED)
    assert verdict.evidence == Evidence(segment_, committed, recomputed, finding)


# -- check_commitment ---------------------------------------------------------------------------------


def test_commitment_the_list_that_was_committed_passes() -> None:
    assert check_commitment(DIGESTS, ROOT, len(DIGESTS), [0, 2, 3, 5, 6, 8]) is None
    single = [DIGESTS[0]]
    assert check_commitment(single, merkle_root(single), 1, [0]) is None


def test_commitment_a_changed_checkpoint_is_a_bad_commitment() -> None:
    tampered = list(DIGESTS)
    tampered[4] = other(4)
    verdict = check_commitment(tampered, ROOT, len(DIGESTS), [4])
    assert verdict is not None
    assert_rejected(verdict, BAD_COMMITMENT, ROOT, merkle_root(tampered))
    assert ROOT.hex() in verdict.reason


def test_commitment_a_wrong_root_is_a_bad_commitment() -> None:
    claimed = other(99)
    verdict = check_commitment(DIGESTS, claimed, len(DIGESTS), [1])
    assert verdict is not None
    assert_rejected(verdict, BAD_COMMITMENT, claimed, ROOT)


def test_commitment_a_wrong_count_is_a_bad_commitment_even_with_the_right_root() -> None:
    """The count is committed beside the root: a list that hashes right but claims another size fails."""
    verdict = check_commitment(DIGESTS, ROOT, len(DIGESTS) + 1, [1])
    assert verdict is not None
    assert_rejected(verdict, BAD_COMMITMENT, ROOT, ROOT)
    assert (
        f"lists {len(DIGESTS)} checkpoints" in verdict.reason
        and f"committed {len(DIGESTS) + 1}" in verdict.reason
    )


def test_commitment_a_truncated_list_is_a_bad_commitment() -> None:
    """A provider that drops its last checkpoints (skipping the end of the run) no longer matches."""
    verdict = check_commitment(DIGESTS[:-2], ROOT, len(DIGESTS), [1])
    assert verdict is not None
    assert_rejected(verdict, BAD_COMMITMENT, ROOT, merkle_root(DIGESTS[:-2]))


# -- judge_segments -----------------------------------------------------------------------------------


def test_segments_an_honest_replay_is_accepted() -> None:
    verdict = judge_segments(honest(), DIGESTS, SAMPLED)
    assert verdict.approve is True and verdict.label == "accept"
    # The evidence is the first sampled comparison: segment 2 recomputes checkpoint 3.
    assert verdict.evidence == Evidence(3, DIGESTS[3], DIGESTS[3])
    assert "4 checks matched" in verdict.reason


def test_segments_accepts_digests_with_a_0x_prefix() -> None:
    document = replace_entry(
        honest(), 2, digest="0x" + DIGESTS[3].hex(), start_digest="0x" + DIGESTS[2].hex()
    )
    assert judge_segments(document, DIGESTS, SAMPLED).approve is True


def test_segments_with_no_sampled_segment_still_checks_init_and_final() -> None:
    verdict = judge_segments(honest([]), DIGESTS, [])
    assert verdict.approve is True
    assert verdict.evidence == Evidence(8, DIGESTS[8], DIGESTS[8])
    bad_init = replace_entry(honest([]), "init", digest=other(0).hex())
    assert_rejected(judge_segments(bad_init, DIGESTS, []), 0, DIGESTS[0], other(0))


def test_segments_a_wrong_recomputed_digest_is_rejected_with_evidence() -> None:
    """The provider skipped segment 5: re-running it from checkpoint 5 gives another state than d_6."""
    document = replace_entry(honest(), 5, digest=other(6).hex())
    verdict = judge_segments(document, DIGESTS, SAMPLED)
    assert_rejected(verdict, 6, DIGESTS[6], other(6))
    assert "segment 5" in verdict.reason and "checkpoint 6" in verdict.reason


def test_segments_a_checkpoint_that_is_not_the_committed_start_is_rejected() -> None:
    """The file given as checkpoint 2 does not hold d_2: the evidence names checkpoint 2 itself."""
    document = replace_entry(honest(), 2, start_digest=other(2).hex())
    verdict = judge_segments(document, DIGESTS, SAMPLED)
    assert_rejected(verdict, 2, DIGESTS[2], other(2))
    missing_start = replace_entry(honest(), 2, start_digest=None)
    assert_rejected(judge_segments(missing_start, DIGESTS, SAMPLED), 2, DIGESTS[2], ZERO_BYTES32)


def test_segments_a_fake_initialisation_is_rejected() -> None:
    document = replace_entry(honest(), "init", digest=other(0).hex())
    verdict = judge_segments(document, DIGESTS, SAMPLED)
    assert_rejected(verdict, 0, DIGESTS[0], other(0))
    assert "fresh initialisation" in verdict.reason


def test_segments_a_final_checkpoint_that_does_not_recompute_is_rejected() -> None:
    document = replace_entry(honest(), "final", digest=other(8).hex())
    assert_rejected(judge_segments(document, DIGESTS, SAMPLED), 8, DIGESTS[8], other(8))


def test_segments_a_model_that_is_not_the_last_checkpoint_is_rejected() -> None:
    """A random model.pt beside honest checkpoints: the last digest matches, the model does not (or the
    replay could not say that it does)."""
    unsaid = honest()
    del unsaid["replays"][-1]["model_matches"]
    for document in (replace_entry(honest(), "final", model_matches=False), unsaid):
        verdict = judge_segments(document, DIGESTS, SAMPLED)
        assert_rejected(verdict, 8, DIGESTS[8], DIGESTS[8])
        assert "model.pt" in verdict.reason


def test_segments_a_checkpoint_the_provider_could_not_supply_is_rejected() -> None:
    document = drop_entry(honest(), 5)
    document["replays"].insert(2, {"segment": 5, "error": "no checkpoint file at /input/ckpts/ckpt_5.pt"})
    verdict = judge_segments(document, DIGESTS, SAMPLED)
    assert_rejected(verdict, 6, DIGESTS[6], ZERO_BYTES32)
    assert "ckpt_5.pt" in verdict.reason


@pytest.mark.parametrize("missing", ["init", 2, 5, "final"])
def test_segments_a_missing_answer_is_an_abstention(missing: str | int) -> None:
    """No entry at all means the job's code did not replay here: not the provider's fault."""
    verdict = judge_segments(drop_entry(honest(), missing), DIGESTS, SAMPLED)
    assert verdict.approve is None and verdict.label == "abstain"
    assert f"segment {missing}" in verdict.reason
    assert verdict.evidence == Evidence()


@pytest.mark.parametrize("digest", [None, "", "zz" * 32, "ab" * 31, 42])
def test_segments_an_answer_without_a_usable_digest_is_an_abstention(digest: Any) -> None:
    document = replace_entry(honest(), 5, digest=digest)
    verdict = judge_segments(document, DIGESTS, SAMPLED)
    assert verdict.approve is None and "no digest" in verdict.reason


@pytest.mark.parametrize("document", [{}, {"replays": "nope"}, {"replays": [1, "x", None]}])
def test_segments_a_malformed_document_is_an_abstention(document: dict[str, Any]) -> None:
    assert judge_segments(document, DIGESTS, SAMPLED).approve is None


# -- the tolerance (distance) path --------------------------------------------------------------------


def close_replay(rel_l2: Any, claimed: bytes = DIGESTS[6]) -> dict[str, Any]:
    """Segment 5 replayed on a GPU: bits differ from d_6, the provider's checkpoint 6 is near."""
    return replace_entry(
        honest(), 5, digest=other(6).hex(), claimed_digest=claimed.hex(), distance={"rel_l2": rel_l2}
    )


def test_tolerance_a_replay_within_the_bound_is_accepted() -> None:
    verdict = judge_segments(close_replay(1e-4), DIGESTS, SAMPLED, tolerance=1e-3)
    assert verdict.approve is True
    assert verdict.evidence == Evidence(3, DIGESTS[3], DIGESTS[3])
    assert judge_segments(close_replay(1e-3), DIGESTS, SAMPLED, tolerance=1e-3).approve is True


def test_tolerance_a_replay_beyond_the_bound_is_rejected() -> None:
    verdict = judge_segments(close_replay(0.5), DIGESTS, SAMPLED, tolerance=1e-3)
    assert_rejected(verdict, 6, DIGESTS[6], other(6))


def test_tolerance_needs_the_committed_checkpoint_and_a_measured_distance() -> None:
    # the file compared against is not the committed checkpoint 6
    swapped = close_replay(1e-6, claimed=other(66))
    assert_rejected(judge_segments(swapped, DIGESTS, SAMPLED, tolerance=1e-3), 6, DIGESTS[6], other(6))
    # the distance could not be measured (state shapes differ), or is not a number
    for distance in ({"error": "shapes differ"}, "0.0", None):
        document = replace_entry(close_replay(0.0), 5, distance=distance)
        assert judge_segments(document, DIGESTS, SAMPLED, tolerance=1e-3).approve is False
    assert judge_segments(close_replay(float("nan")), DIGESTS, SAMPLED, tolerance=1e-3).approve is False


def test_tolerance_is_ignored_without_one_and_never_applies_to_init_or_final() -> None:
    assert judge_segments(close_replay(0.0), DIGESTS, SAMPLED).approve is False
    near_init = replace_entry(
        honest(), "init", digest=other(0).hex(), claimed_digest=DIGESTS[0].hex(), distance={"rel_l2": 0.0}
    )
    assert_rejected(judge_segments(near_init, DIGESTS, SAMPLED, tolerance=1.0), 0, DIGESTS[0], other(0))
    near_final = replace_entry(
        honest(), "final", digest=other(8).hex(), claimed_digest=DIGESTS[8].hex(), distance={"rel_l2": 0.0}
    )
    assert_rejected(judge_segments(near_final, DIGESTS, SAMPLED, tolerance=1.0), 8, DIGESTS[8], other(8))


# -- judge_shards -------------------------------------------------------------------------------------

SHARDS = [hashlib.sha256(f"shard output {j}".encode()).digest() for j in range(6)]


def shard_replay(sampled: list[int], **digests: bytes) -> dict[str, Any]:
    entries = [{"shard": j, "digest": digests.get(f"s{j}", SHARDS[j]).hex()} for j in sampled]
    return {"replays": entries, "shards": len(SHARDS)}


def test_shards_an_honest_replay_is_accepted() -> None:
    verdict = judge_shards(shard_replay([1, 4]), SHARDS, [1, 4])
    assert verdict.approve is True
    assert verdict.evidence == Evidence(1, SHARDS[1], SHARDS[1])
    assert check_commitment(SHARDS, merkle_root(SHARDS), len(SHARDS), [1, 4]) is None


def test_shards_a_wrong_output_is_rejected_with_evidence() -> None:
    verdict = judge_shards(shard_replay([1, 4], s4=other(4)), SHARDS, [1, 4])
    assert_rejected(verdict, 4, SHARDS[4], other(4))
    assert "shard 4" in verdict.reason


def test_shards_a_missing_or_digestless_answer_is_an_abstention() -> None:
    assert judge_shards(shard_replay([1]), SHARDS, [1, 4]).approve is None
    failed = {"replays": [{"shard": 1, "digest": SHARDS[1].hex()}, {"shard": 4, "error": "boom"}]}
    verdict = judge_shards(failed, SHARDS, [1, 4])
    assert verdict.approve is None and "shard 4" in verdict.reason


# -- judge_replicate and the helpers ------------------------------------------------------------------


def test_replicate_compares_the_whole_rerun() -> None:
    accepted = judge_replicate(ROOT, ROOT, "checkpoint root")
    assert accepted.approve is True and accepted.evidence == Evidence(0, ROOT, ROOT)
    rejected = judge_replicate(ROOT, other(1), "result")
    assert_rejected(rejected, 0, ROOT, other(1))
    assert "result" in rejected.reason


def test_helpers_and_the_evidence_sentinels() -> None:
    # uint32 segment ids no job can reach
    assert {WITHHELD, BAD_COMMITMENT, EXCEEDED_RESOURCES} == {2**32 - 1, 2**32 - 2, 2**32 - 3}
    withheld = reject("gone", WITHHELD, other(7))
    assert withheld.evidence == Evidence(WITHHELD, other(7), ZERO_BYTES32, VoteReason.RESULT_WITHHELD)
    assert reject("differs", 3, other(1), other(2)).evidence.reason is VoteReason.RECOMPUTED
    quiet = abstain("no engine")
    assert (quiet.approve, quiet.label, quiet.reason, quiet.evidence) == (
        None,
        "abstain",
        "no engine",
        Evidence(),
    )
    costed = judge_replicate(ROOT, ROOT, "root").with_cost(["whole job"], 12.5)
    assert (costed.approve, costed.segments, costed.cpu_s) == (True, ("whole job",), 12.5)
    assert costed.evidence == Evidence(0, ROOT, ROOT)


def ended(state: ExecutionState, reason: str = "") -> ExecutionResult:
    return ExecutionResult(
        ExecutionId("replay-1"), state, 137 if state is ExecutionState.OOM_KILLED else 1, reason
    )


def test_a_rerun_killed_at_the_declared_memory_limit_rejects_as_exceeding_declared_resources() -> None:
    killed = ended(
        ExecutionState.OOM_KILLED, "killed by the out-of-memory killer at its 512 MiB memory limit"
    )
    verdict = resource_finding(killed, "replay", ROOT)
    assert verdict is not None and verdict.approve is False, verdict
    assert verdict.evidence == Evidence(
        EXCEEDED_RESOURCES, ROOT, ZERO_BYTES32, VoteReason.EXCEEDS_DECLARED_RESOURCES
    )
    assert "could not run in the resources the job declares" in verdict.reason and "512 MiB" in verdict.reason


@pytest.mark.parametrize(
    "state",
    [ExecutionState.TIMED_OUT, ExecutionState.FAILED, ExecutionState.LOST, ExecutionState.OUTPUT_TOO_LARGE],
)
def test_other_unfinished_reruns_are_no_finding_against_the_provider(state: ExecutionState) -> None:
    """A timeout depends on this validator's hardware, a crash or a lost container on its engine."""
    assert resource_finding(ended(state), "replay", ROOT) is None
