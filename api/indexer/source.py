"""Where the indexer's events come from: the market deployment, read with `chain.events.EventReader`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.indexer.decoding import FastEventCodec
from chain import (
    CheckpointStore,
    ContractCodec,
    Deployment,
    EventBatch,
    EventReader,
    Rpc,
    RpcError,
    compile_contracts,
    load_deployment,
)

_TIMESTAMP_BATCH = 500


def market_codec() -> ContractCodec:
    return FastEventCodec(compile_contracts()["CrowdMarket"].abi)


@dataclass
class MarketSource:
    """An `EventReader` over the market's events plus block timestamps, one batch at a time."""

    rpc: Rpc
    deployment: Deployment
    reader: EventReader

    @classmethod
    def open(
        cls,
        rpc_url: str,
        chain_id: int,
        deployments_dir: Path,
        events: Iterable[str],
        checkpoints: CheckpointStore,
        *,
        confirmations: int,
        batch_blocks: int,
        timeout: float,
        codec: ContractCodec | None = None,
    ) -> MarketSource:
        deployment = load_deployment(chain_id, deployments_dir)
        rpc = Rpc.connect(rpc_url, expected_chain_id=chain_id, timeout=timeout)
        codec = codec or market_codec()
        reader = EventReader(
            rpc,
            deployment.market,
            codec,
            [name for name in events if name in codec.events],
            start_block=deployment.block_number,
            confirmations=confirmations,
            batch_blocks=batch_blocks,
            checkpoints=checkpoints,
            retries=1,
        )
        return cls(rpc, deployment, reader)

    def poll(self) -> tuple[EventBatch, dict[int, int]]:
        """The next batch (not committed) and the timestamps of the blocks its events are in."""
        batch = self.reader.poll(commit=False)
        return batch, self.timestamps({event.block_number for event in batch.events})

    def timestamps(self, blocks: set[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        ordered = sorted(blocks)
        provider: Any = self.rpc.w3.provider
        for start in range(0, len(ordered), _TIMESTAMP_BATCH):
            chunk = ordered[start : start + _TIMESTAMP_BATCH]
            try:
                responses = provider.make_batch_request(
                    [("eth_getBlockByNumber", [hex(number), False]) for number in chunk]
                )
            except OSError as exc:
                raise RpcError("eth_getBlockByNumber", -1, str(exc)) from exc
            if not isinstance(responses, list):
                raise RpcError("eth_getBlockByNumber", -1, str(responses.get("error")))
            for number, response in zip(chunk, responses, strict=True):
                block = response.get("result")
                if block:
                    found[number] = int(block["timestamp"], 16)
        return found

    def head(self) -> int:
        return self.rpc.block_number()
