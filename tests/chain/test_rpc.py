"""The JSON-RPC layer: checked connections, batches, errors by name."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.chain  # starts its own anvil
def test_anvil_keeps_its_spilled_states_in_a_home_of_its_own_removed_when_it_stops() -> None:
    """Anvil writes old states under $HOME/.foundry/anvil/tmp and leaves them when stopped; each of ours has
    a home of its own, gone with it, so long runs do not fill the disk."""
    with AnvilProcess() as node:
        home = node.home
        assert home is not None and home.is_dir() and home != Path.home()
        assert node.rpc().block_number() >= 0
    assert not home.exists()
