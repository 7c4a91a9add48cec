"""Confidential jobs on a real anvil with the real contracts (docs/confidential.md), without Docker.

The requester seals a job folder holding a marker, posts it, and its key agent releases the content key to the
provider whose claim is mined; the provider opens the bundle and seals the keys to one validator as a
committee would be sealed to. Who else can read it: nobody. A third staked provider, a validator the keys
were not sealed to, and the content store (the gateway's too: it serves the same bytes) hold no key that
opens anything, and the marker appears in no stored block. A provider that gets no key gives its claim back
for free; one that got a key that does not open the bundle gives it back with the collateral burned, which
the requester who sealed it never receives.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from chain import DevChain, JobId, JobStatus, MarketClient, ReleaseReason, dev_account, tokens
from crowdcompute.requester.confidential import KeyAgent, requester_keys, salt_from_store
from crowdcompute.requester.submit import submit_job
from jobs.bundle import Bundle, extract_bundle
from jobs.manifest import load_manifest
from jobs.sealing import NodeKeyring, SealedKeyError, SealingError, open_job_folder, open_key, seal_key
from jobs.sealing.addressed import open_seals
from jobs.store import EmbeddedStore
from node_base.encryption import ensure_published
from provider_node.confidential import ProviderSealing
from provider_node.state import StateStore
from tests.requester.requester_jobs import write_job
from validator.confidential import KeysUnavailable, ValidatorSealing

THIRD_PROVIDER_INDEX = 4
SEALED_VALIDATOR_INDEX = 5
OTHER_VALIDATOR_INDEX = 6


def _node(
    market: MarketClient, index: int, folder: Path, *, validator: bool = False
) -> tuple[MarketClient, NodeKeyring]:
    from chain import Capabilities

    client = market.with_account(dev_account(index))
    if validator:
        client.stake(tokens(200))
        client.register_validator()
    else:
        client.register_provider(
            Capabilities(cpu_cores=2, memory_mib=2048, price_per_hour=tokens(1)), b"\x01" * 32
        )
        client.stake(tokens(200))
    keyring = NodeKeyring(folder / f"keys-{index}")
    ensure_published(client, keyring)
    return client, keyring


def _post(
    requester: MarketClient, store: EmbeddedStore, folder: Path, marker: bytes, timeout_s: int = 600
) -> JobId:
    job_dir = write_job(folder, timeout_s=timeout_s)
    (job_dir / "data" / "secret.bin").write_bytes(marker * 4)
    submitted = submit_job(requester, job_dir, store=store, confidential=True, force=True)
    assert submitted.confidential
    return submitted.job_id


def _bundle(store: EmbeddedStore, market: MarketClient, job_id: JobId, dest: Path) -> Bundle:
    from jobs.bundle import bundle_cid

    spec = market.job(job_id).job.spec
    cid = bundle_cid(spec.bundle_digest, spec.bundle_codec)
    with store.open(cid) as stream:
        extract_bundle(stream, dest)
    return Bundle(cid, dest, load_manifest(dest))


def _stored_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def test_only_the_claimant_and_the_sealed_seat_can_open_a_confidential_job(
    requester: MarketClient, provider: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    marker = secrets.token_bytes(24)
    job_id = _post(requester, store, tmp_path / "job", marker)
    job = requester.job(job_id).job
    assert job.spec.result_key == requester_keys(requester).public  # the requester's result key on chain
    leaks = [str(path) for path, data in _stored_bytes(tmp_path / "store") if marker in data]
    assert not leaks, f"the marker is in stored blocks: {leaks}"

    provider_keys = NodeKeyring(tmp_path / "provider-keys")
    ensure_published(provider, provider_keys)
    provider.claim_job(job_id)
    sealing = ProviderSealing(provider, provider_keys, StateStore(tmp_path / "state.db"), tmp_path / "opened")
    job = provider.job(job_id).job
    assert sealing.content_key(job_id, 0, job, now=0).waiting  # nothing released yet

    released = KeyAgent(requester, salt_from_store(store)).step()
    assert [(r.job_id, r.provider, r.block is not None) for r in released] == [(job_id, provider.me, True)]
    decision = sealing.content_key(job_id, 0, job, now=0)
    assert decision.key is not None
    opened = sealing.open_bundle(
        _bundle(store, provider, job_id, tmp_path / "bundle"), job_id, 0, decision.key
    )
    assert (opened.path / "data" / "secret.bin").read_bytes() == marker * 4
    assert opened.manifest.sealed is None  # the full manifest, not the public one

    # The provider seals the content key and a result key to one seat holder, as to a drawn committee.
    seat, seat_keys = _node(requester, SEALED_VALIDATOR_INDEX, tmp_path, validator=True)
    result_key = secrets.token_bytes(32)
    chain_id = provider.rpc.chain_id
    payload = decision.key + result_key
    seal = seal_key(
        payload, ensure_published(seat, seat_keys).public, chain_id=chain_id, job_id=job_id, recipient=seat.me
    )
    provider.key_release().publish_keys(job_id, [(seat.me, seal)])
    keys = ValidatorSealing(seat, seat_keys).seat_keys(job_id, job)
    assert (keys.content_key, keys.result_key) == (decision.key, result_key)

    # Everyone else: a third staked provider and a validator nobody sealed to find nothing addressed to them,
    # and none of their keys opens any seal of the job.
    third, third_keys = _node(requester, THIRD_PROVIDER_INDEX, tmp_path)
    other, other_keys = _node(requester, OTHER_VALIDATOR_INDEX, tmp_path, validator=True)
    seals = requester.key_release().sealed_keys(job_id)
    assert {s.recipient for s in seals} == {provider.me, seat.me}
    for outsider, ring in ((third, third_keys), (other, other_keys)):
        found = open_seals(
            seals,
            ring.all(),
            senders=[requester.me, provider.me],
            chain_id=chain_id,
            job_id=job_id,
            me=outsider.me,
        )
        assert found.payload is None and not found.problems
        for sealed in seals:
            for pair in ring.all():
                with pytest.raises(SealedKeyError):
                    open_key(
                        sealed.sealed, pair, chain_id=chain_id, job_id=job_id, recipient=sealed.recipient
                    )
    with pytest.raises(KeysUnavailable, match="has not sealed"):
        ValidatorSealing(other, other_keys).seat_keys(job_id, job)
    # Without the content key (the store and the gateway have none) the payload does not open, and nothing
    # opened is left behind.
    stranger_copy = _bundle(store, requester, job_id, tmp_path / "stranger")
    with pytest.raises(SealingError, match=r"sealed\.payload"):
        open_job_folder(stranger_copy.path, secrets.token_bytes(32), chain_id=chain_id, job_id=job_id)
    assert sorted(p.name for p in stranger_copy.path.iterdir()) == ["job.toml", "sealed.payload"]


def test_no_key_in_the_window_frees_the_claim_and_a_bad_key_burns_the_collateral(
    requester: MarketClient, provider: MarketClient, store: EmbeddedStore, dev_chain: DevChain, tmp_path: Path
) -> None:
    job_id = _post(requester, store, tmp_path / "job", secrets.token_bytes(24), timeout_s=400)
    keys = NodeKeyring(tmp_path / "provider-keys")
    ensure_published(provider, keys)
    state = StateStore(tmp_path / "state.db")
    sealing = ProviderSealing(provider, keys, state, tmp_path / "opened")
    locked_before = provider.account_of().locked

    # The requester's agent is offline: after the key window (a quarter of the run timeout) the claim
    # goes back.
    provider.claim_job(job_id)
    job = provider.job(job_id).job
    assert provider.account_of().locked > locked_before
    dev_chain.increase_time(101)
    dev_chain.mine()
    decision = sealing.content_key(job_id, 0, job, now=dev_chain.timestamp())
    assert decision.release is not None and "did not release" in decision.release and not decision.refused
    released = provider.release_claim(job_id)
    assert released.reason == ReleaseReason.KEY_NOT_RELEASED and released.burned == 0
    assert provider.account_of().locked == locked_before
    assert provider.status_of(job_id) == JobStatus.OPEN

    # Claimed again, the requester seals a key that does not open the bundle: the provider cannot run it and
    # gives the claim back; the collateral is burned, not paid to the requester.
    provider.claim_job(job_id)
    job = provider.job(job_id).job
    collateral = job.spec.collateral
    bogus = seal_key(
        secrets.token_bytes(32),
        ensure_published(provider, keys).public,
        chain_id=provider.rpc.chain_id,
        job_id=job_id,
        recipient=provider.me,
    )
    requester.key_release().release_key(job_id, bogus)
    balance_before = requester.account_of().balance
    decision = sealing.content_key(job_id, 1, job, now=dev_chain.timestamp())
    assert decision.key is not None  # the seal opens: it is the bundle that does not
    with pytest.raises(SealingError):
        sealing.open_bundle(_bundle(store, provider, job_id, tmp_path / "bundle"), job_id, 1, decision.key)
    assert not sealing.opened_folder(job_id, 1).exists()  # nothing half-opened left
    refused = provider.release_claim(job_id)
    assert refused.reason == ReleaseReason.KEY_REFUSED and refused.burned == collateral
    assert requester.account_of().balance == balance_before  # the requester gained nothing from the bad key
    assert requester.fees_to_burn() >= collateral
