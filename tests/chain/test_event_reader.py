"""The event reader: chain order across batches, confirmations, checkpoints, RPC failures."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from chain import (
    DecodedLog,
    DevChain,
    EventReader,
    JsonCheckpointStore,
    MarketClient,
    MemoryCheckpointStore,
    Rpc,
    RpcError,
    RpcUnreachable,
)


class FlakyRpc(Rpc):
    """Fails the first `failures` log queries as if the node had gone away."""

    def __init__(self, inner: Rpc, failures: int) -> None:
        super().__init__(inner.w3, decoder=inner.decoder, url=inner.url)
        self.failures = failures
        self.calls = 0

    def get_logs(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise RpcUnreachable(self.url, "connection refused")
        return super().get_logs(**kwargs)


class RangeLimitedRpc(Rpc):
    """Refuses log queries over more than `limit` blocks, as hosted nodes do."""

    def __init__(self, inner: Rpc, limit: int) -> None:
        super().__init__(inner.w3, decoder=inner.decoder, url=inner.url)
        self.limit = limit

    def get_logs(self, *, from_block: int, to_block: int, **kwargs: Any) -> list[dict[str, Any]]:
        if to_block - from_block + 1 > self.limit:
            raise RpcError("eth_getLogs", -32005, f"query exceeds max block range {self.limit}")
        return super().get_logs(from_block=from_block, to_block=to_block, **kwargs)


def transfers(market: MarketClient, count: int) -> tuple[int, list[str]]:
    """`count` token transfers, one block each; returns the first block and the receivers in order."""
    start = market.rpc.block_number() + 1
    receivers = [Account.create().address for _ in range(count)]
    for receiver in receivers:
        market.token.transfer(receiver, 1)
    return start, receivers


def reader(rpc: Rpc, market: MarketClient, start: int, **kwargs: Any) -> EventReader:
    return EventReader(
        rpc, market.token.address, market.token.codec, ["Transfer"], start_block=start, **kwargs
    )


def receivers_of(events: list[DecodedLog]) -> list[str]:
    return [e.args["to"] for e in events]


def test_events_arrive_in_chain_order_across_batches(market: MarketClient, rpc: Rpc) -> None:
    start, receivers = transfers(market, 5)
    events_reader = reader(rpc, market, start, batch_blocks=2)
    events = events_reader.catch_up()
    assert receivers_of(events) == receivers
    assert [e.position for e in events] == sorted(e.position for e in events)
    assert events_reader.next_block == rpc.block_number() + 1
    assert events_reader.poll().events == []


def test_confirmations_hold_back_recent_blocks(market: MarketClient, rpc: Rpc, dev_chain: DevChain) -> None:
    start, receivers = transfers(market, 5)
    confirmed = reader(rpc, market, start, confirmations=3)
    assert receivers_of(confirmed.catch_up()) == receivers[:2]
    dev_chain.mine(3)
    assert receivers_of(confirmed.catch_up()) == receivers[2:]


def test_a_new_reader_resumes_from_the_json_checkpoint(
    market: MarketClient, rpc: Rpc, tmp_path: Path
) -> None:
    start, receivers = transfers(market, 6)
    store = JsonCheckpointStore(tmp_path / "checkpoints.json")
    first = reader(rpc, market, start, batch_blocks=3, checkpoints=store, checkpoint_key="transfers")
    seen = first.poll().events
    assert receivers_of(seen) == receivers[:3]
    assert store.load("transfers") == start + 2

    # A crash before commit means the batch is read again: delivery is at least once.
    uncommitted = first.poll(commit=False)
    assert receivers_of(uncommitted.events) == receivers[3:6]

    second = reader(
        rpc,
        market,
        0,
        batch_blocks=3,
        checkpoints=JsonCheckpointStore(store.path),
        checkpoint_key="transfers",
    )
    assert second.next_block == start + 3
    assert receivers_of(second.catch_up()) == receivers[3:]


def test_transient_rpc_failures_are_retried(market: MarketClient, rpc: Rpc) -> None:
    start, receivers = transfers(market, 2)
    flaky = FlakyRpc(rpc, failures=2)
    events = reader(flaky, market, start, backoff=0.001).catch_up()
    assert receivers_of(events) == receivers
    assert flaky.calls == 3


def test_poll_gives_up_after_its_retries(market: MarketClient, rpc: Rpc) -> None:
    start, _ = transfers(market, 1)
    with pytest.raises(RpcUnreachable):
        reader(FlakyRpc(rpc, failures=5), market, start, retries=3, backoff=0.001).poll()


def test_follow_survives_a_long_outage(market: MarketClient, rpc: Rpc) -> None:
    start, receivers = transfers(market, 3)
    follower = reader(FlakyRpc(rpc, failures=7), market, start, retries=2, backoff=0.001, max_backoff=0.005)
    stop = threading.Event()
    got: list[str] = []
    for event in follower.follow(stop):
        got.append(event.args["to"])
        if len(got) == len(receivers):
            stop.set()
    assert got == receivers


def test_follow_sees_new_events_as_they_come(market: MarketClient, rpc: Rpc) -> None:
    follower = reader(rpc, market, rpc.block_number() + 1, poll_interval=0.01)
    stop = threading.Event()
    sent: list[str] = []

    def produce() -> None:
        sent.extend(transfers(market, 3)[1])

    producer = threading.Thread(target=produce)
    producer.start()
    got: list[str] = []
    for event in follower.follow(stop):
        got.append(event.args["to"])
        if len(got) == 3:
            stop.set()
    producer.join()
    assert got == sent


def test_ranges_too_large_for_the_node_are_split(market: MarketClient, rpc: Rpc) -> None:
    start, receivers = transfers(market, 5)
    events = reader(RangeLimitedRpc(rpc, limit=2), market, start, batch_blocks=100, retries=1).catch_up()
    assert receivers_of(events) == receivers


def test_memory_store_round_trip() -> None:
    store = MemoryCheckpointStore()
    assert store.load("k") is None
    store.save("k", 12)
    assert store.load("k") == 12
