"""`submit_job` against the real anvil: through an embedded store and through a live gateway, and every
refusal before anything is stored, uploaded or signed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from eth_utils import keccak

from chain import JobStatus, MarketClient, PayWith, RpcError, tokens
from chain.anvil import free_port
from crowdcompute.requester import (
    GatewayUnreachable,
    InsufficientTokens,
    InvalidJob,
    SubmittedJob,
    job_spec_for,
    submit_job,
)
from jobs.bundle import pack_directory, read_job_manifest
from jobs.cid import parse_cid
from jobs.store import EmbeddedStore
from tests.requester.requester_jobs import write_job

APPROVAL = "0x" + keccak(text="Approval(address,address,uint256)").hex()


def _check_posted(market: MarketClient, requester: MarketClient, job_dir: Path, job: SubmittedJob) -> None:
    """The chain holds exactly the spec the dApp rules give, posted by the requester, paid in full."""
    view = market.job(job.job_id)
    assert view.status == JobStatus.OPEN
    posted = next(e for e in view.events if e.name == "JobPosted")
    assert posted.tx_hash == job.tx_hash
    config = market.config()
    expected = job_spec_for(
        read_job_manifest(job_dir),
        parse_cid(job.bundle_cid),
        fee_bps=config.fee_bps,
        min_collateral_bps=config.min_collateral_bps,
    ).to_abi()
    expected["requester"] = requester.me
    got = dict(posted.args["spec"])
    assert got.pop("reward") >= 0 and expected.pop("reward") == 0
    assert got == expected
    receipt = market.rpc.receipt(job.tx_hash)
    assert receipt is not None and int(receipt["gasUsed"], 16) == job.tx.gas_used > 0


def test_submit_through_a_store_packs_stores_and_posts_with_a_permit(
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    job_dir = write_job(tmp_path / "job")
    before = requester.token.balance_of(requester.me)
    progress: list[str] = []
    job = submit_job(requester, job_dir, store=store, on_progress=progress.append)

    _check_posted(market, requester, job_dir, job)
    assert str(job.bundle_cid).startswith("bafk")  # CIDv1, raw leaf: the bundle fits one chunk
    with (tmp_path / "again.tar").open("wb") as out:
        pack_directory(job_dir, out)
    assert store.read_bytes(job.bundle_cid) == (tmp_path / "again.tar").read_bytes()
    assert parse_cid(job.bundle_cid) in store.pins()
    # 10 budget + 0.2 protocol fee + 1 x 1 fee
    assert requester.token.balance_of(requester.me) == before - tokens("11.2")
    assert [line.split()[0] for line in progress] == ["packed", "stored", "signing", "mined:"]
    # The permit path: the token recorded the permit's allowance in the same transaction.
    receipt = market.rpc.receipt(job.tx_hash)
    assert receipt is not None
    approvals = [
        log
        for log in receipt["logs"]
        if log["address"].lower() == market.deployment.token.lower() and log["topics"][0] == APPROVAL
    ]
    assert len(approvals) == 1


def test_submit_through_a_gateway_uploads_a_signed_bundle_anyone_can_fetch(
    market: MarketClient, requester: MarketClient, provider: MarketClient, gateway_url: str, tmp_path: Path
) -> None:
    job_dir = write_job(tmp_path / "job")
    progress: list[str] = []
    job = submit_job(requester, job_dir, gateway_url=gateway_url, on_progress=progress.append)

    _check_posted(market, requester, job_dir, job)
    with (tmp_path / "again.tar").open("wb") as out:
        pack_directory(job_dir, out)
    fetched = httpx.get(f"{gateway_url}/ipfs/{job.bundle_cid}", trust_env=False)
    assert fetched.status_code == 200 and fetched.content == (tmp_path / "again.tar").read_bytes()
    manifest = httpx.get(f"{gateway_url}/bundles/{job.bundle_cid}/manifest", trust_env=False).json()
    assert manifest["manifest"]["name"] == "requester-test"
    assert progress[1].startswith(f"uploaded bundle {job.bundle_cid}")


def test_an_invalid_manifest_is_refused_naming_the_field_before_anything_happens(
    market: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_dir = write_job(tmp_path / "job", cpus="0")
    first_free = market.next_job_id()
    with pytest.raises(InvalidJob) as caught:
        submit_job(requester, job_dir, store=store)
    assert "resources.cpus" in str(caught.value) and "fix the manifest" in str(caught.value)
    assert any(p.startswith("resources.cpus:") for p in caught.value.problems)
    assert market.next_job_id() == first_free and store.pins() == []


def test_too_few_tokens_is_refused_with_both_amounts(
    market: MarketClient, requester: MarketClient, store: EmbeddedStore, tmp_path: Path
) -> None:
    job_dir = write_job(tmp_path / "job")
    balance = requester.token.balance_of(requester.me)
    with pytest.raises(InsufficientTokens) as caught:
        submit_job(requester, job_dir, store=store, budget=balance)
    assert (caught.value.balance, caught.value.needed) == (balance, balance + tokens(201))  # 2 % fee + 1 fee
    assert "holds 10000 CROWD; this job's escrow is 10201 CROWD" in str(caught.value)
    assert "get 201 CROWD more" in str(caught.value)
    assert store.pins() == []


def test_no_gateway_listening_is_named_with_the_fix(
    market: MarketClient, requester: MarketClient, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    first_free = market.next_job_id()
    with pytest.raises(GatewayUnreachable) as caught:
        submit_job(requester, write_job(tmp_path / "job"), gateway_url=url)
    message = str(caught.value)
    assert f"no gateway answers at {url}" in message and "crowdcompute gateway serve" in message
    assert "--store-dir" in message
    assert market.next_job_id() == first_free


def test_a_token_without_permits_is_paid_by_approving_exactly_the_escrow(
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fake fault: our token always supports EIP-2612, so a token without it is simulated by making its
    # ERC-5267 domain read fail the way a contract lacking the function does.
    call = requester.token.call

    def no_domain(name: str, *args: object) -> object:
        if name == "eip712Domain":
            raise RpcError("eth_call", 3, "execution reverted")
        return call(name, *args)

    monkeypatch.setattr(requester.token, "call", no_domain)
    job_dir = write_job(tmp_path / "job")
    progress: list[str] = []
    job = submit_job(requester, job_dir, store=store, on_progress=progress.append)

    _check_posted(market, requester, job_dir, job)
    assert "approving the market for exactly the escrow of 11.2 CROWD (no permit)" in progress[2]
    assert job.payment.method == PayWith.APPROVE and job.payment.approval is not None
    assert job.gas_used == job.tx.gas_used + job.payment.approval.gas_used
    assert requester.token.allowance(requester.me, requester.address) == 0  # exactly the escrow, spent


def test_a_standing_allowance_pays_without_a_permit_or_an_approve(
    market: MarketClient,
    requester: MarketClient,
    provider: MarketClient,
    store: EmbeddedStore,
    tmp_path: Path,
) -> None:
    requester.token.approve(requester.address, tokens(100))
    progress: list[str] = []
    job = submit_job(requester, write_job(tmp_path / "job"), store=store, on_progress=progress.append)
    assert job.payment.method == PayWith.ALLOWANCE and job.payment.approval is None
    assert "comes from the standing allowance" in progress[2]
    assert requester.token.allowance(requester.me, requester.address) == tokens("88.8")
    receipt = market.rpc.receipt(job.tx_hash)
    assert receipt is not None
    assert not [log for log in receipt["logs"] if log["topics"][0] == APPROVAL]
