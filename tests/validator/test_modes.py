"""The verification modes besides `segments`, on the real chain with real Docker replays.

* `replicate`: each of the three validators re-runs the whole job and compares the Merkle root of the
  digests it lists (tests/validator/jobs/hash_chain with CHAIN_CHECKPOINTS=1) or, when it lists none,
  the whole result archive's CID.
* `shards`: a job written with `sdk.ShardedJob` (tests/validator/jobs/shard_features, 6 shards); each
  validator re-runs its own sample of 2 shards and compares their digests with the committed leaves.
* `none`: optimistic. The job has no committee: no validator keeps a record of it or fetches anything,
  and once the window closes `finalize` (anyone's) accepts the job and pays the provider.

Honest work is done by a real provider node in Docker; dishonest work is scripted on the host (the same
code, so what it did not tamper with matches) and submitted with a well-formed commitment.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from chain import (
    DEV_ADDRESSES,
    ZERO_BYTES32,
    JobStatus,
    MarketClient,
    Outcome,
    VerificationMode,
    dev_account,
)
from jobs.bundle import pack_directory, pack_output
from jobs.cid import Cid
from jobs.commitments import checkpoint_commitment
from jobs.executors import ImageRef
from jobs.executors.docker import DockerExecutor
from jobs.store import EmbeddedStore
from provider_node.config import NodeConfig
from provider_node.daemon import ProviderNode
from provider_node.state import Phase as ProviderPhase
from sdk.checkpoint import MANIFEST_FILE, save_object, write_json
from sdk.digest import state_digest
from sdk.shards import shard_file
from tests.validator.cheaters import ScriptedProvider, host_torch, load_training_script
from tests.validator.validator_cast import (
    CHEATER,
    HONEST_PROVIDER,
    REQUESTER,
    VALIDATORS,
    CommitteeFactory,
    Ledger,
    Settled,
    job_spec,
)

pytestmark = pytest.mark.slow

JOBS = Path(__file__).parent / "jobs"
WATCHED = [DEV_ADDRESSES[i] for i in (REQUESTER, HONEST_PROVIDER, CHEATER, *VALIDATORS)]
CHAIN = {"links": 4, "rounds": 50000}  # the hash chain's defaults (train.py)


def pinned_bundle(
    name: str, dest: Path, image: ImageRef, store: EmbeddedStore, edits: dict[str, str] | None = None
) -> tuple[Path, Cid]:
    """A copy of tests/validator/jobs/<name> pinned to this host's runtime image, with `edits` (a
    pattern -> replacement per job.toml line), packed and added to the store."""
    shutil.copytree(JOBS / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = dest / "job.toml"
    text = manifest.read_text()
    for pattern, replacement in {r'^digest = "[^"]*"': f'digest = "{image.digest}"', **(edits or {})}.items():
        text, count = re.subn(f"(?m){pattern}", replacement, text)
        assert count == 1, f"{pattern!r} matches one line of {name}/job.toml"
    manifest.write_text(text)
    buffer = io.BytesIO()
    pack_directory(dest, buffer)
    return dest, store.add_bytes(buffer.getvalue())


@pytest.fixture(scope="module")
def bundles(
    tmp_path_factory: pytest.TempPathFactory, store: EmbeddedStore, runtime_image: ImageRef
) -> dict[str, tuple[Path, Cid]]:
    """The mode jobs by variant: hash chain with and without checkpoints, in mode none, and the shards."""
    root = tmp_path_factory.mktemp("mode-jobs")
    no_checkpoints = {r"^env = .*$": 'env = { CHAIN_CHECKPOINTS = "0" }'}
    optimistic = {"^mode = .*$": 'mode = "none"'}
    return {
        "replicate-root": pinned_bundle("hash_chain", root / "root", runtime_image, store),
        "replicate-cid": pinned_bundle("hash_chain", root / "cid", runtime_image, store, no_checkpoints),
        "none": pinned_bundle("hash_chain", root / "none", runtime_image, store, optimistic),
        "shards": pinned_bundle("shard_features", root / "shards", runtime_image, store),
    }


@pytest.fixture
def run_honest_provider(
    requester: MarketClient, store: EmbeddedStore, docker_client: Any, node_label: Any, tmp_path: Path
) -> Callable[[int], None]:
    """A real provider node (dev 2) claims the open job, runs it in Docker and submits the result."""

    def run(job_id: int) -> None:
        executor = DockerExecutor(docker_client, node_id=node_label("provider"), poll_interval_s=0.1)
        node = ProviderNode(
            requester.with_account(dev_account(HONEST_PROVIDER)),
            store,
            executor,
            NodeConfig(data_dir=tmp_path / "provider", poll_interval_s=0.05),
        )
        try:
            assert node.step().claimed == [job_id]
            assert node.wait_idle(120)
            record = node.state.get(job_id)
            assert record is not None and record.phase is ProviderPhase.SUBMITTED, record
        finally:
            node.close()
            executor.close()

    return run


def cheater_for(requester: MarketClient, store: EmbeddedStore, job_dir: Path, work: Path) -> ScriptedProvider:
    return ScriptedProvider(requester.with_account(dev_account(CHEATER)), store, job_dir, work)


def outcome(settled: Settled) -> tuple[Outcome, int, int]:
    args = settled.finalized.args
    return Outcome(args["outcome"]), args["accepts"], args["rejects"]


def assert_paid(settled: Settled, before: Ledger, requester: MarketClient, job_id: int) -> None:
    spec = requester.job(job_id).job.spec
    after = Ledger.read(requester, WATCHED)
    assert before.delta(after, DEV_ADDRESSES[HONEST_PROVIDER]) == {
        "balance": spec.budget,
        "reward_owed": spec.reward,
    }
    assert not settled.slashed()
    seats = settled.seats()  # every seat voted: each holder earns a fee per seat
    assert sum(seats.values()) == spec.committee_size
    for index in VALIDATORS:
        address = DEV_ADDRESSES[index]
        fees = {"balance": spec.validator_fee * seats[address]} if seats[address] else {}
        assert before.delta(after, address) == fees
    assert requester.status_of(job_id) == JobStatus.CLOSED


def assert_slashed(settled: Settled, before: Ledger, requester: MarketClient, job_id: int) -> None:
    spec = requester.job(job_id).job.spec
    after = Ledger.read(requester, WATCHED)
    assert settled.slashed() == {DEV_ADDRESSES[CHEATER]: spec.collateral}
    assert before.delta(after, DEV_ADDRESSES[CHEATER]) == {"stake": -spec.collateral}
    assert before.delta(after, DEV_ADDRESSES[REQUESTER]) == {
        "balance": spec.budget + spec.protocol_fee + spec.collateral
    }
    seats = settled.seats()
    assert sum(seats.values()) == spec.committee_size
    for index in VALIDATORS:
        address = DEV_ADDRESSES[index]
        fees = {"balance": spec.validator_fee * seats[address]} if seats[address] else {}
        assert before.delta(after, address) == fees


def evidence_of(settled: Settled) -> dict[str, dict[str, Any]]:
    """Each vote's evidence, checked against what its daemon recorded."""
    found = {}
    for address, vote in settled.votes().items():
        evidence = vote.args["evidence"]
        assert settled.records[address].evidence == {
            "segment": evidence["segment"],
            "committed": evidence["committedDigest"].hex(),
            "recomputed": evidence["recomputedDigest"].hex(),
            "reason": int(evidence["reason"]),
        }
        found[address] = evidence
    assert set(found) <= {DEV_ADDRESSES[i] for i in VALIDATORS}
    assert set(found) == {address for address, record in settled.records.items() if record.seats}
    return found


# -- replicate ---------------------------------------------------------------------------------------

REPLICATE = {"mode": VerificationMode.REPLICATE, "samples_per_validator": 0, "memory_mib": 256}


def committed_value(out: Path, store: EmbeddedStore, *, checkpoints: bool) -> bytes:
    """What a replicate validator compares: the checkpoint root, or the result archive's digest."""
    if checkpoints:
        return checkpoint_commitment(out).root
    packed = pack_output(out, out.parent / "compare.tar")
    return store.add_file(packed.path, only_hash=True).digest


@pytest.mark.parametrize("variant", ["replicate-root", "replicate-cid"])
def test_replicate_honest_provider_is_accepted_by_whole_reruns(
    variant: str,
    requester: MarketClient,
    bundles: dict[str, tuple[Path, Cid]],
    store: EmbeddedStore,
    make_committee: CommitteeFactory,
    run_honest_provider: Callable[[int], None],
    tmp_path: Path,
) -> None:
    job_dir, cid = bundles[variant]
    checkpoints = variant == "replicate-root"
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **REPLICATE)).job_id
    run_honest_provider(job_id)

    settled = make_committee().run_until_final(job_id)

    assert outcome(settled) == (Outcome.ACCEPTED, 3, 0)
    host = tmp_path / "host" / "out"
    load_training_script(job_dir).run(host, **CHAIN, checkpoints=checkpoints)
    expected = committed_value(host, store, checkpoints=checkpoints)
    for address, evidence in evidence_of(settled).items():
        assert (evidence["segment"], evidence["committedDigest"]) == (0, expected)
        assert evidence["recomputedDigest"] == expected
        record = settled.records[address]
        assert record.segments == ["whole job"] and record.cpu_s is not None and record.cpu_s > 0
        what = "checkpoint root" if checkpoints else "result"
        assert record.reason == f"the re-run gives the committed {what}"
    assert_paid(settled, before, requester, job_id)


@pytest.mark.parametrize("variant", ["replicate-root", "replicate-cid"])
def test_replicate_provider_whose_result_differs_is_rejected_and_slashed(
    variant: str,
    requester: MarketClient,
    bundles: dict[str, tuple[Path, Cid]],
    store: EmbeddedStore,
    make_committee: CommitteeFactory,
    tmp_path: Path,
) -> None:
    """The provider ran a tenth of the chain and committed what that gave, consistently."""
    job_dir, cid = bundles[variant]
    checkpoints = variant == "replicate-root"
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **REPLICATE)).job_id
    cheater = cheater_for(requester, store, job_dir, tmp_path / "cheater")
    cheater.market.claim_job(job_id)
    script = load_training_script(job_dir)
    short = tmp_path / "short" / "out"
    script.run(short, links=CHAIN["links"], rounds=CHAIN["rounds"] // 10, checkpoints=checkpoints)
    submitted = cheater.submit(job_id, short)
    honest = tmp_path / "honest" / "out"
    script.run(honest, **CHAIN, checkpoints=checkpoints)

    settled = make_committee().run_until_final(job_id)

    assert outcome(settled) == (Outcome.REJECTED, 0, 3)
    committed = submitted.commitment.checkpoint_root if checkpoints else submitted.cid.digest
    recomputed = committed_value(honest, store, checkpoints=checkpoints)
    assert committed != recomputed
    for address, evidence in evidence_of(settled).items():
        assert (evidence["segment"], evidence["committedDigest"]) == (0, committed)
        assert evidence["recomputedDigest"] == recomputed
        assert "the re-run gives another" in settled.records[address].reason
    assert_slashed(settled, before, requester, job_id)


# -- shards ------------------------------------------------------------------------------------------

SHARDS = {"mode": VerificationMode.SHARDS, "samples_per_validator": 2, "memory_mib": 512}


def honest_shard_digests(script: ModuleType) -> list[bytes]:
    with host_torch():
        return [bytes.fromhex(script.JOB.compute(i)[1]) for i in range(script.JOB.count)]


def forge_shards(script: ModuleType, out: Path, *, computed: int) -> list[bytes]:
    """Compute the first `computed` shards, write zeros of the right shape for the rest, and list every
    output's true digest in the manifest, so the commitment is well formed; the digests listed."""
    entries = []
    with host_torch():
        template, _ = script.JOB.compute(0)
        for index in range(script.JOB.count):
            if index < computed:
                output, digest = script.JOB.compute(index)
            else:
                output = {name: torch.zeros_like(tensor) for name, tensor in template.items()}
                digest = state_digest(output)
            save_object(out / shard_file(index), output)
            entries.append({"index": index, "digest": digest, "file": shard_file(index)})
    write_json(out / MANIFEST_FILE, {"checkpoints": entries})
    return [bytes.fromhex(entry["digest"]) for entry in entries]


def test_shards_honest_provider_is_accepted_each_validator_checking_its_own_sample(
    requester: MarketClient,
    bundles: dict[str, tuple[Path, Cid]],
    make_committee: CommitteeFactory,
    run_honest_provider: Callable[[int], None],
) -> None:
    job_dir, cid = bundles["shards"]
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **SHARDS)).job_id
    run_honest_provider(job_id)

    settled = make_committee().run_until_final(job_id)

    assert outcome(settled) == (Outcome.ACCEPTED, 3, 0)
    digests = honest_shard_digests(load_training_script(job_dir))
    for address, evidence in evidence_of(settled).items():
        record = settled.records[address]
        assert record.segments is not None and len(record.segments) == 2, record
        sampled = [int(label.removeprefix("shard ")) for label in record.segments]
        assert evidence["segment"] == sampled[0]
        assert evidence["committedDigest"] == evidence["recomputedDigest"] == digests[sampled[0]]
        assert record.reason == "2 shards matched" and record.cpu_s is not None and record.cpu_s > 0
    assert_paid(settled, before, requester, job_id)


def test_shards_provider_faking_shards_is_rejected_with_the_shard_as_evidence(
    requester: MarketClient,
    bundles: dict[str, tuple[Path, Cid]],
    store: EmbeddedStore,
    make_committee: CommitteeFactory,
    tmp_path: Path,
) -> None:
    """Shard 0 computed, shards 1..5 faked: any sample of 2 of the 6 holds a faked one."""
    job_dir, cid = bundles["shards"]
    before = Ledger.read(requester, WATCHED)
    job_id = requester.post_job(job_spec(cid, **SHARDS)).job_id
    cheater = cheater_for(requester, store, job_dir, tmp_path / "cheater")
    cheater.market.claim_job(job_id)
    script = load_training_script(job_dir)
    out = tmp_path / "forged" / "out"
    forged = forge_shards(script, out, computed=1)
    cheater.submit(job_id, out)
    honest = honest_shard_digests(script)
    assert forged[0] == honest[0] and all(forged[i] != honest[i] for i in range(1, len(honest)))

    settled = make_committee().run_until_final(job_id)

    assert outcome(settled) == (Outcome.REJECTED, 0, 3)
    for address, evidence in evidence_of(settled).items():
        record = settled.records[address]
        assert record.segments is not None
        sampled = [int(label.removeprefix("shard ")) for label in record.segments]
        first_faked = next(i for i in sampled if i >= 1)
        assert evidence["segment"] == first_faked
        assert evidence["committedDigest"] == forged[first_faked]
        assert evidence["recomputedDigest"] == honest[first_faked] != ZERO_BYTES32
        assert record.reason == f"shard {first_faked} recomputes to another output"
    assert_slashed(settled, before, requester, job_id)


# -- none --------------------------------------------------------------------------------------------


def test_mode_none_nothing_is_reexecuted_and_the_job_is_accepted_when_the_window_closes(
    requester: MarketClient,
    bundles: dict[str, tuple[Path, Cid]],
    store: EmbeddedStore,
    make_committee: CommitteeFactory,
    tmp_path: Path,
) -> None:
    job_dir, cid = bundles["none"]
    before = Ledger.read(requester, WATCHED)
    spec = job_spec(
        cid,
        mode=VerificationMode.NONE,
        committee_size=0,
        samples_per_validator=0,
        validator_fee=0,
        verify_blocks=6,
    )
    job_id = requester.post_job(spec).job_id
    provider = ScriptedProvider(
        requester.with_account(dev_account(HONEST_PROVIDER)), store, job_dir, tmp_path / "provider"
    )
    provider.market.claim_job(job_id)
    out = tmp_path / "work" / "out"
    load_training_script(job_dir).run(out, **CHAIN, checkpoints=True)
    provider.submit(job_id, out)

    committee = make_committee()
    for _ in range(8):  # the window passes; the validators hold no seat, so they do nothing
        for node in committee.nodes:
            node.step()
            assert node.wait_idle(30)
        committee.chain.mine(1)
    for node in committee.nodes:
        assert not node.state.records(), "a job without a committee leaves no seat to verify"
        assert not node.config.bundles_dir.exists(), "not even the bundle was fetched"
    finalized = requester.finalize(job_id)  # anyone, once the window is over
    settled = Settled(job_id, committee.events(job_id, requester.job(job_id).job.state.submit_block), {})

    assert outcome(settled) == (Outcome.ACCEPTED, 0, 0) and finalized.outcome == Outcome.ACCEPTED
    assert not settled.named("VoteCast")
    submitted_at = requester.job(job_id).job.state.submit_block
    assert settled.finalized.block_number > submitted_at + 1 + 6, "settled once the window had closed"
    posted = requester.job(job_id).job.spec
    (paid,) = settled.named("ProviderPaid")
    assert (paid.args["payment"], paid.args["reward"]) == (posted.budget, posted.reward)
    after = Ledger.read(requester, WATCHED)
    assert posted.reward == 0  # mode None: nothing verified, no reward
    assert before.delta(after, DEV_ADDRESSES[HONEST_PROVIDER]) == {"balance": posted.budget}
    # No committee, no fees: no validator gains or loses.
    assert before.delta(after, DEV_ADDRESSES[REQUESTER]) == {}
    for index in VALIDATORS:
        assert before.delta(after, DEV_ADDRESSES[index]) == {}
    assert not settled.slashed()
