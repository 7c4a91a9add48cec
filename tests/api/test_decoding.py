"""The indexer's fast event decoder gives what `chain.abi` gives, for every market event."""

from __future__ import annotations

from typing import Any

import pytest

from api.indexer.decoding import FastEventCodec
from api.indexer.projection import INDEXED_EVENTS
from chain import Artifacts, ContractCodec, DecodedLog, encode_params
from tests.api.market_events import EventLog


@pytest.fixture(scope="module")
def abi(artifacts: Artifacts) -> list[dict[str, Any]]:
    return artifacts["CrowdMarket"].abi


def sample_events() -> list[DecodedLog]:
    log = EventLog()
    log.register_provider()
    log.register_validator(0)
    log.full_lifecycle(1)
    log.post(2, reopen=True)
    log.claim(2)
    log.submit(2)
    log.emit("SeatUnbacked", {"jobId": 2, "validator": "0x" + "33" * 20, "slot": 2, "bond": 500})
    log.appeal(2, 1)
    log.reject(2)
    log.reopen(2)
    log.cancel(2)
    log.post(3, result_key=b"\x11" * 32)
    log.claim(3)
    log.release_claim(3, burned=30)
    log.emit("JobExpired", {"jobId": 3, "provider": "0x" + "22" * 20, "slashed": 7})
    log.emit("UnbondRequested", {"account": "0x" + "22" * 20, "amount": 5, "releaseAt": 1_800_000_000})
    log.emit("UnbondedWithdrawn", {"account": "0x" + "22" * 20, "amount": 5})
    log.emit("Withdrawn", {"account": "0x" + "22" * 20, "amount": 2**100, "reward": 3})
    return log.events


def raw_log(codec: ContractCodec, event: DecodedLog) -> dict[str, Any]:
    entry = codec.event(event.name)
    params = entry.entry["inputs"]
    topics = [entry.topic] + [encode_params([p], [event.args[p["name"]]]) for p in params if p.get("indexed")]
    plain = [p for p in params if not p.get("indexed")]
    return {
        "address": "0x" + "aa" * 20,
        "topics": ["0x" + t.hex() for t in topics],
        "data": "0x" + encode_params(plain, [event.args[p["name"]] for p in plain]).hex(),
        "blockNumber": hex(event.block_number),
        "logIndex": hex(event.log_index),
        "transactionHash": event.tx_hash,
        "blockHash": event.block_hash,
    }


def lowered(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        return {k: lowered(v) for k, v in value.items()}
    return value


def test_every_market_event_takes_the_fast_path(abi: list[dict[str, Any]]) -> None:
    assert set(INDEXED_EVENTS) <= FastEventCodec(abi).fast_path_events()


def test_fast_decoding_equals_chain_abi(abi: list[dict[str, Any]]) -> None:
    fast, reference = FastEventCodec(abi), ContractCodec(abi)
    events = sample_events()
    assert {e.name for e in events} == set(INDEXED_EVENTS)
    for event in events:
        log = raw_log(reference, event)
        ours, theirs = fast.decode_log(log), reference.decode_log(log)
        assert ours is not None and theirs is not None
        assert (ours.name, ours.block_number, ours.log_index, ours.tx_hash) == (
            theirs.name,
            theirs.block_number,
            theirs.log_index,
            theirs.tx_hash,
        )
        assert lowered(ours.args) == lowered(theirs.args), event.name
        assert list(ours.args) == list(theirs.args)


def test_malformed_data_falls_back_to_chain_abi(abi: list[dict[str, Any]]) -> None:
    fast = FastEventCodec(abi)
    for event in sample_events()[:2]:  # ProviderRegistered (with a struct), Staked (plain words)
        log = raw_log(fast, event)
        log["data"] = log["data"][:-64]  # one word short
        with pytest.raises(Exception):  # noqa: B017 - eth_abi's own error for short data
            fast.decode_log(log)
