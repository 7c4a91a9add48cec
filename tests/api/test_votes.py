"""The votes relay without a chain: seat holders hand in signed votes, which stay private until the job's
window closes or every seat has voted, and are then revealed together."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.indexer.checkpoint import ensure_identity, save_checkpoint
from api.indexer.projection import project_batch
from api.main import create_app
from api.settings import Settings
from chain import Evidence, SignedVote, result_hash, round_seats, sign_vote
from gateway_protocol import VOTES_PENDING, VOTES_REVEALED, VoteRelayError, fetch_votes, post_vote
from tests.api.live_gateway import serve
from tests.api.market_events import MARKET, RESULT_DIGEST, EventLog

INDEX_BACKENDS = ("sqlite", "postgresql")
"""Each test that builds the gateway runs on both index backends (tests/api/conftest.py)."""

CHAIN_ID = 31337
JOB = 1
COMMITTEE = 3
VERIFY_BLOCKS = 20  # market_events.EventLog.post
SEED_BLOCK_HASH = b"\x5e" * 32
KEYS: list[LocalAccount] = [Account.from_key(bytes([i + 1]) * 32) for i in range(4)]
RESULT_HASH = bytes(result_hash(RESULT_DIGEST, 0x55, b"\x07" * 32, 4))
EVIDENCE = Evidence(segment=2, committed_digest=b"\x0a" * 32, recomputed_digest=b"\x0b" * 32)


class Chain:
    """A market's events, indexed by the app's gateway directly (no RPC): three validators, one job."""

    def __init__(self, app: FastAPI) -> None:
        self.gateway = app.state.gateway
        self.log = EventLog()
        for leaf, key in enumerate(KEYS[:3]):
            self.log.register_validator(leaf, stake=100 * (leaf + 1), address=key.address)
        self.log.register_provider()
        self.log.post(JOB)
        self.log.claim(JOB)
        self.log.submit(JOB)
        self.submit_block = self.log.block
        self.head = self.submit_block
        self.round = 0
        self.index()
        self.gateway.block_hash = lambda block: SEED_BLOCK_HASH if block <= self.head else None
        self.mine(1)  # the seed block

    def index(self) -> None:
        with self.gateway.db.write() as conn:
            ensure_identity(conn, CHAIN_ID, MARKET)
            project_batch(conn, self.log.events, {})
            save_checkpoint(conn, self.head)

    def mine(self, blocks: int) -> None:
        self.head += blocks
        with self.gateway.db.write() as conn:
            save_checkpoint(conn, self.head)

    @property
    def window_end(self) -> int:
        return self.submit_block + 1 + VERIFY_BLOCKS

    def appeal(self) -> None:
        """Past the window, the requester appeals: round `self.round + 1` starts in the appeal's block."""
        self.log.block = max(self.log.block, self.head)
        self.round += 1
        self.log.appeal(JOB, self.round)
        self.submit_block = self.head = self.log.block
        self.index()
        self.mine(1)  # the new round's seed block

    def holders(self) -> list[str]:
        seed = keccak(abi_encode(["bytes32", "uint256"], [SEED_BLOCK_HASH, JOB]))
        seats = round_seats(COMMITTEE, self.round)
        return [proof.member.validator for proof in self.log.roster.committee(seed, seats)]

    def key_of(self, address: str) -> LocalAccount:
        return next(key for key in KEYS if key.address == address)

    def vote(
        self, seat: int, approve: bool = True, signer: LocalAccount | None = None, round_: int | None = None
    ) -> SignedVote:
        round_ = self.round if round_ is None else round_
        key = signer or self.key_of(self.holders()[seat])
        return sign_vote(key, CHAIN_ID, MARKET, JOB, RESULT_HASH, seat, approve, EVIDENCE, round_)

    def other_than_holder(self, seat: int) -> LocalAccount:
        return next(key for key in KEYS if key.address != self.holders()[seat])


@pytest.fixture
def vote_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(chain_id=CHAIN_ID)


@pytest.fixture
def app(vote_settings: Settings) -> FastAPI:
    return create_app(vote_settings)


@pytest.fixture
def chain(app: FastAPI) -> Chain:
    return Chain(app)


def test_a_seat_holders_vote_is_stored(client: TestClient, chain: Chain) -> None:
    answer = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json())
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"job_id": JOB, "seat": 0, "stored": True}


def test_votes_never_leak_before_the_window_closes(client: TestClient, chain: Chain) -> None:
    votes = [chain.vote(0, approve=False), chain.vote(1, approve=True)]
    for vote in votes:
        assert client.post(f"/jobs/{JOB}/votes", json=vote.to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS)  # the window's last block: still closed to readers
    assert chain.head == chain.window_end

    answer = client.get(f"/jobs/{JOB}/votes")
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert f"after block {chain.window_end}" in detail and "2 of 3 seats have voted" in detail
    # Nothing the gateway serves about the job carries a ballot, a signature or who voted how.
    secrets = {"0x" + v.r.hex() for v in votes} | {"0x" + v.vs.hex() for v in votes}
    secrets |= {"0x" + bytes(EVIDENCE.recomputed_digest).hex()}
    for path in (f"/jobs/{JOB}/votes", f"/jobs/{JOB}", "/jobs", "/validators", "/stats"):
        text = client.get(path).text
        assert not any(secret in text for secret in secrets), path
        assert '"approve"' not in text, path


def test_votes_are_revealed_together_after_the_window(client: TestClient, chain: Chain) -> None:
    votes = [chain.vote(0, approve=False), chain.vote(2, approve=True)]
    for vote in votes:
        assert client.post(f"/jobs/{JOB}/votes", json=vote.to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS + 1)

    answer = client.get(f"/jobs/{JOB}/votes")
    assert answer.status_code == 200, answer.text
    assert answer.json()["revealed"] is True
    assert [SignedVote.from_json(v) for v in answer.json()["votes"]] == votes


def test_votes_are_revealed_once_every_seat_voted(client: TestClient, chain: Chain) -> None:
    for seat in range(COMMITTEE):
        assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(seat).to_json()).status_code == 202
    answer = client.get(f"/jobs/{JOB}/votes")
    assert answer.status_code == 200 and [v["seat"] for v in answer.json()["votes"]] == [0, 1, 2]


def test_revealed_votes_can_no_longer_change(client: TestClient, chain: Chain) -> None:
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS + 1)
    late = client.post(f"/jobs/{JOB}/votes", json=chain.vote(1).to_json())
    assert late.status_code == 409 and "already revealed" in late.json()["detail"]


def test_the_holder_may_replace_its_vote_until_revealed(client: TestClient, chain: Chain) -> None:
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(0, approve=True).to_json()).status_code == 202
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(0, approve=False).to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS + 1)
    [only] = client.get(f"/jobs/{JOB}/votes").json()["votes"]
    assert only["seat"] == 0 and only["approve"] is False


def test_a_vote_for_a_seat_held_by_another_is_refused(client: TestClient, chain: Chain) -> None:
    intruder = chain.other_than_holder(0)
    answer = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0, signer=intruder).to_json())
    assert answer.status_code == 403
    assert f"held by {chain.holders()[0]}" in answer.json()["detail"]


def test_a_signature_that_does_not_recover_to_the_validator_is_refused(
    client: TestClient, chain: Chain
) -> None:
    holder = chain.holders()[0]
    forged = replace(chain.vote(0, signer=chain.other_than_holder(0)), validator=holder)
    answer = client.post(f"/jobs/{JOB}/votes", json=forged.to_json())
    assert answer.status_code == 401 and "does not recover to" in answer.json()["detail"]
    stale = sign_vote(chain.key_of(holder), CHAIN_ID, MARKET, JOB, b"\x01" * 32, 0, True, EVIDENCE)
    assert client.post(f"/jobs/{JOB}/votes", json=stale.to_json()).status_code == 401


def test_votes_outside_the_committee_or_the_job_are_refused(client: TestClient, chain: Chain) -> None:
    outside = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json() | {"seat": COMMITTEE})
    assert outside.status_code == 400 and "committee has 3 seats" in outside.json()["detail"]
    elsewhere = client.post(f"/jobs/{JOB + 1}/votes", json=chain.vote(0).to_json())
    assert elsewhere.status_code == 400 and "posted to job 2" in elsewhere.json()["detail"]
    unknown = chain.vote(0).to_json() | {"job_id": 99}
    assert client.post("/jobs/99/votes", json=unknown).status_code == 404
    assert client.get("/jobs/99/votes").status_code == 404
    malformed = chain.vote(0).to_json() | {"r": "0x12"}
    assert client.post(f"/jobs/{JOB}/votes", json=malformed).status_code == 422


def test_a_job_not_submitted_takes_no_votes(client: TestClient, chain: Chain) -> None:
    chain.log.post(2)
    chain.index()
    vote = chain.vote(0).to_json() | {"job_id": 2}
    answer = client.post("/jobs/2/votes", json=vote)
    assert answer.status_code == 409 and "nothing to vote on" in answer.json()["detail"]


def test_no_vote_before_the_seed_block_is_mined(client: TestClient, chain: Chain) -> None:
    chain.gateway.block_hash = lambda block: None
    answer = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json())
    assert answer.status_code == 409 and "not mined yet" in answer.json()["detail"]


def test_votes_are_size_and_rate_limited(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(chain_id=CHAIN_ID, vote_rate_limit_burst=2))
    chain = Chain(app)
    with TestClient(app) as client:
        padded = json.dumps(chain.vote(0).to_json() | {"pad": "x" * 8192})
        big = client.post(f"/jobs/{JOB}/votes", content=padded, headers={"content-type": "application/json"})
        assert big.status_code == 413
        answers = [client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json()) for _ in range(3)]
        assert [a.status_code for a in answers][-1] == 429


def test_the_nodes_client_posts_and_fetches(app: FastAPI, chain: Chain) -> None:
    with serve(app) as url:
        assert post_vote(url, chain.vote(1), timeout=5) == {"job_id": JOB, "seat": 1, "stored": True}
        assert fetch_votes(url, JOB, timeout=5) is None
        chain.mine(VERIFY_BLOCKS + 1)
        assert fetch_votes(url, JOB, timeout=5) == [chain.vote(1)]


def test_the_nodes_client_tells_what_may_succeed_later(app: FastAPI, chain: Chain) -> None:
    with serve(app) as url:
        with pytest.raises(VoteRelayError) as intruder:
            post_vote(url, chain.vote(0, signer=chain.other_than_holder(0)), timeout=5)
        assert (intruder.value.status, intruder.value.retryable) == (403, False)
        assert "held by" in intruder.value.detail

        chain.gateway.block_hash = lambda block: None
        with pytest.raises(VoteRelayError) as early:
            post_vote(url, chain.vote(0), timeout=5)
        assert (early.value.code, early.value.retryable) == (VOTES_PENDING, True)

        chain.mine(VERIFY_BLOCKS + 1)
        with pytest.raises(VoteRelayError) as late:
            post_vote(url, chain.vote(0), timeout=5)
        assert (late.value.code, late.value.retryable) == (VOTES_REVEALED, False)
        with pytest.raises(VoteRelayError) as unknown:
            fetch_votes(url, 99, timeout=5)
        assert unknown.value.status == 404


def test_a_reopened_job_forgets_the_votes_of_its_last_attempt(client: TestClient, chain: Chain) -> None:
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json()).status_code == 202
    chain.log.reject(JOB)
    chain.log.reopen(JOB)
    chain.log.claim(JOB)
    chain.log.submit(JOB)  # the same result again: only a new attempt's votes may count
    chain.head = chain.log.block
    chain.index()
    with chain.gateway.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM seat_votes").fetchone()[0] == 0


def test_an_appeal_starts_a_larger_round_whose_votes_are_kept_apart(client: TestClient, chain: Chain) -> None:
    first = [chain.vote(seat, approve=False) for seat in range(COMMITTEE)]
    for vote in first:
        assert client.post(f"/jobs/{JOB}/votes", json=vote.to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS + 1)
    chain.appeal()

    job = client.get(f"/jobs/{JOB}").json()
    assert (job["round"], job["submit_block"]) == (1, chain.submit_block)
    [appeal] = job["appeals"]
    assert (appeal["round"], appeal["bond"], appeal["block_number"]) == (1, "62", chain.submit_block)
    assert client.get("/jobs").json()["data"][0]["round"] == 1

    pending = client.get(f"/jobs/{JOB}/votes")
    assert pending.status_code == 409 and "0 of 31 seats" in pending.json()["detail"]
    old = client.get(f"/jobs/{JOB}/votes", params={"round": 0})
    assert old.status_code == 200 and old.json()["round"] == 0
    assert [SignedVote.from_json(v) for v in old.json()["votes"]] == first
    assert client.get(f"/jobs/{JOB}/votes", params={"round": 2}).status_code == 409

    late = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0, round_=0).to_json())
    assert late.status_code == 409 and "the job is in round 1 now" in late.json()["detail"]
    early = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0, round_=2).to_json())
    assert early.status_code == 409 and "job is in round 1" in early.json()["detail"]
    outside = client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json() | {"seat": 31})
    assert outside.status_code == 400 and "31 seats (0..30) in round 1" in outside.json()["detail"]
    # A round-0 signature does not pass for the same seat of round 1.
    relabelled = chain.vote(0, round_=0).to_json() | {"round": 1}
    assert client.post(f"/jobs/{JOB}/votes", json=relabelled).status_code == 401

    seats = round_seats(COMMITTEE, 1)
    second = [chain.vote(seat) for seat in range(seats)]
    for vote in second[:-1]:
        assert client.post(f"/jobs/{JOB}/votes", json=vote.to_json()).status_code == 202
    assert client.get(f"/jobs/{JOB}/votes").status_code == 409
    assert client.post(f"/jobs/{JOB}/votes", json=second[-1].to_json()).status_code == 202
    revealed = client.get(f"/jobs/{JOB}/votes").json()
    assert revealed["round"] == 1
    assert [SignedVote.from_json(v) for v in revealed["votes"]] == second
    assert len(client.get(f"/jobs/{JOB}/votes", params={"round": 0}).json()["votes"]) == COMMITTEE


def test_a_reopened_job_forgets_every_rounds_votes(client: TestClient, chain: Chain) -> None:
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(0).to_json()).status_code == 202
    chain.mine(VERIFY_BLOCKS + 1)
    chain.appeal()
    assert client.post(f"/jobs/{JOB}/votes", json=chain.vote(5).to_json()).status_code == 202
    chain.log.block = chain.head
    chain.log.reject(JOB)
    chain.log.reopen(JOB)
    chain.head = chain.log.block
    chain.index()
    with chain.gateway.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM seat_votes").fetchone()[0] == 0
    job = client.get(f"/jobs/{JOB}").json()
    assert (job["state"], job["round"], job["submit_block"]) == ("Open", 0, None)
    assert [(a["round"], a["attempt"]) for a in job["appeals"]] == [(1, 0)], "the history stays"
