"""Jobs taken to their end on the real chain for the requester tests: a result of real SDK checkpoints
(optionally tampered), pinned and submitted; a committee of three that votes; finalized or cancelled."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from chain import (
    VALIDATOR_ACCOUNTS,
    DevChain,
    JobId,
    JobSpec,
    MarketClient,
    Outcome,
    ResultCommitment,
    VerificationMode,
    dev_account,
    tokens,
)
from jobs.bundle import pack_output
from jobs.cid import Cid
from jobs.commitments import merkle_root
from jobs.store import ContentStore
from sdk.checkpoint import CheckpointEntry, capture_state, checkpoint_file, save_checkpoint, write_manifest
from sdk.digest import state_digest
from tests.chain.market_cast import mine_until_settleable
from tests.conftest import TEST_CONFIG

VALIDATOR_STAKE = tokens(200)

SPEC = JobSpec(
    budget=tokens(10),
    bundle_digest=b"\x22" * 32,
    bundle_codec=0x55,
    collateral=tokens(5),
    run_timeout=3600,
    cpu_cores=1,
    memory_mib=256,
    mode=VerificationMode.SEGMENTS,
    committee_size=3,
    samples_per_validator=1,
    verify_blocks=5,
    validator_fee=tokens(1),
).with_protocol_fee(TEST_CONFIG.fee_bps)  # as the client fills it in: `escrow` is what a post pulls


def write_checkpoints(folder: Path, count: int = 7) -> list[bytes]:
    """What the SDK leaves after a run with `count` checkpoints (tiny model): the files, their manifest
    and a final model; returns the digests, as the provider commits them."""
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    entries = []
    for index in range(count):
        if index:
            loss = model(torch.ones(3, 4)).pow(2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        state = capture_state(index, model, optimizer)
        entry = CheckpointEntry(index, state_digest(state), index, checkpoint_file(index))
        save_checkpoint(folder / entry.file, state, threads=1)
        entries.append(entry)
    write_manifest(folder, entries)
    torch.save(model.state_dict(), folder / "model.pt")
    return [bytes.fromhex(entry.digest) for entry in entries]


def tamper_file(folder: Path, index: int) -> None:
    """Replace checkpoint `index`'s file with another state (its manifest entry left as it was)."""
    other = folder / checkpoint_file(index + 1)
    (folder / checkpoint_file(index)).write_bytes(other.read_bytes())


def tamper_listing(folder: Path, index: int) -> None:
    """Change checkpoint `index`'s digest in the manifest (its file left as it was)."""
    path = folder / "checkpoints" / "manifest.json"
    document = json.loads(path.read_text())
    document["checkpoints"][index]["digest"] = "ee" * 32
    path.write_text(json.dumps(document))


def submit_output(
    provider: MarketClient, job_id: JobId, store: ContentStore, output: Path, root: bytes, count: int
) -> Cid:
    """Claim `job_id`, pin `output` (packed as a result) and submit its CID under `root` and `count`."""
    provider.claim_job(job_id)
    packed = pack_output(output, output.parent / f"{output.name}.tar")
    cid = store.add_file(packed.path, cid_version=1)
    digest, codec = cid.to_chain()
    provider.submit_result(job_id, ResultCommitment(digest, root, count, codec))
    return cid


def submitted_job(
    requester: MarketClient,
    provider: MarketClient,
    store: ContentStore,
    work: Path,
    *,
    tamper: str | None = None,
    index: int = 3,
) -> tuple[JobId, list[bytes]]:
    """A posted, claimed and submitted job whose result holds 7 SDK checkpoints; the honest root is
    committed, then the result is tampered (`"file"` or `"listing"` at `index`) before it is pinned."""
    output = work / "output"
    output.mkdir(parents=True)
    digests = write_checkpoints(output)
    if tamper == "file":
        tamper_file(output, index)
    elif tamper == "listing":
        tamper_listing(output, index)
    job_id = requester.post_job(SPEC).job_id
    submit_output(provider, job_id, store, output, merkle_root(digests), len(digests))
    return job_id, digests


def register_validators(market: MarketClient, accounts: Sequence[int] = VALIDATOR_ACCOUNTS) -> None:
    for index in accounts:
        validator = market.with_account(dev_account(index))
        validator.stake(VALIDATOR_STAKE)
        validator.register_validator()


def vote_and_finalize(market: MarketClient, job_id: JobId, approvals: Sequence[bool]) -> Outcome:
    """Seat i's holder (dev accounts of `register_validators`) signs approvals[i] once the seed block is
    mined; `market` reveals the votes with finalize once the vote and appeal windows are over."""
    DevChain(market.rpc).mine(1)
    committee = market.committee_of(job_id)
    by_address = {dev_account(i).address: i for i in VALIDATOR_ACCOUNTS}
    votes = [
        market.with_account(dev_account(by_address[committee[seat]])).sign_vote(job_id, seat, approve)
        for seat, approve in enumerate(approvals)
    ]
    mine_until_settleable(market, job_id)
    return market.finalize(job_id, votes).outcome
