"""A validator whose chain link drops while it concludes a verification tries again; it does not give up
the seat. Seen in bench/chaos.py: an RPC cut as the verdict was being signed left the seat silent (and its
bond lost). Real anvil, contracts and a replay in Docker; a committee of one. The cut is injected in the
node's RPC client on the verification worker's thread only (the test's own reads go through)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chain import MarketClient, RpcUnreachable
from tests.validator.cheaters import ScriptedProvider
from tests.validator.relays import MemoryRelay
from tests.validator.seats import submit_to_one_seat
from tests.validator.validator_cast import VerifiableJob
from validator.state import Phase

pytestmark = pytest.mark.slow


def test_a_chain_lost_while_concluding_is_retried_and_the_seat_votes(
    requester: MarketClient,
    digits_job: VerifiableJob,
    provider: ScriptedProvider,
    make_node: Any,
    relay: MemoryRelay,
) -> None:
    job_id, seat = submit_to_one_seat(requester, digits_job.cid, provider)
    node = make_node(seat, retry_s=0.2)
    rpc = node.market.rpc
    reachable = rpc.block_number
    cuts = {"left": 2}

    def cut_for_workers() -> int:
        if threading.current_thread() is not threading.main_thread() and cuts["left"] > 0:
            cuts["left"] -= 1
            raise RpcUnreachable(rpc.url, "ConnectionError")
        return reachable()

    rpc.block_number = cut_for_workers
    try:
        deadline = time.monotonic() + 120
        while not relay.held(job_id) and time.monotonic() < deadline:
            node.step()
            time.sleep(0.2)
    finally:
        del rpc.block_number  # the session's client, shared with other tests
    records = node.state.rounds(job_id, 0)
    assert relay.held(job_id), f"the seat never voted: {records}"
    assert cuts["left"] == 0, "the worker never met the cut"
    assert [r.phase for r in records] == [Phase.VOTED], records
