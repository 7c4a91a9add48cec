"""The JSON-RPC layer: checked connections, batches, errors by name."""

from __future__ import annotations

import pytest

from chain import ChainIdMismatch, ContractRevert, Rpc, RpcError, RpcUnreachable
from chain.anvil import AnvilProcess, free_port


def test_unreachable_node_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcUnreachable, match=url) as info:
        Rpc.connect(url, timeout=1)
    assert isinstance(info.value, ConnectionError)


def test_wrong_chain_is_named(anvil: AnvilProcess) -> None:
    with pytest.raises(ChainIdMismatch, match="serves chain id 31337; expected 5") as info:
        Rpc.connect(anvil.url, expected_chain_id=5)
    assert isinstance(info.value, ValueError)


def test_batch_returns_results_in_call_order(rpc: Rpc) -> None:
    head = rpc.block_number()
    chain_id, number, block = rpc.batch(
        [("eth_chainId", []), ("eth_blockNumber", []), ("eth_getBlockByNumber", [hex(head), False])]
    )
    assert (int(chain_id, 16), int(number, 16), int(block["number"], 16)) == (31337, head, head)
    assert rpc.batch([]) == []


def test_node_errors_are_rpc_errors(rpc: Rpc) -> None:
    with pytest.raises(RpcError) as info:
        rpc.request("eth_noSuchMethod")
    assert info.value.method == "eth_noSuchMethod" and not isinstance(info.value, ContractRevert)
    with pytest.raises(RpcError):
        rpc.batch([("eth_chainId", []), ("eth_noSuchMethod", [])])
