"""The transaction sender: many threads, no nonce gaps, reverts decoded, dev keys kept off live chains."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain import (
    AnvilProcess,
    ContractRevert,
    DevChain,
    DevKeyOnLiveChain,
    MarketClient,
    PendingTx,
    Rpc,
    TokenClient,
    TransactionTimeout,
    TxSender,
    dev_account,
    tokens,
)

log = logging.getLogger(__name__)


def transfer_data(token: TokenClient, to: str, amount: int) -> bytes:
    return token.codec.function("transfer").encode(to, amount)


def run_threads(count: int, work: object) -> None:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            work(index)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_many_threads_one_account_leave_no_nonce_gap(
    market: MarketClient, rpc: Rpc, sender: TxSender
) -> None:
    account = dev_account(1)
    token = market.token.with_account(account)
    start_nonce = rpc.nonce(account.address)
    receivers = [Account.create().address for _ in range(8)]
    pending: list[PendingTx] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        for _ in range(6):
            sent = sender.send(account, token.address, transfer_data(token, receivers[index], 1), gas=80_000)
            with lock:
                pending.append(sent)

    run_threads(8, work)
    results = [sender.wait(p) for p in pending]
    assert sorted(p.nonce for p in pending) == list(range(start_nonce, start_nonce + 48))
    assert rpc.nonce(account.address, "latest") == start_nonce + 48
    assert all(r.gas_used > 0 for r in results)
    assert [token.balance_of(r) for r in receivers] == [6] * 8


def test_many_accounts_in_parallel(
    market: MarketClient, rpc: Rpc, sender: TxSender, dev_chain: DevChain
) -> None:
    accounts: list[LocalAccount] = [Account.create() for _ in range(20)]
    treasury = market.token
    for account in accounts:
        dev_chain.set_balance(account.address, 10**18)
        treasury.transfer(account.address, tokens(1))
    sink = Account.create().address

    def work(index: int) -> None:
        token = treasury.with_account(accounts[index])
        for _ in range(5):
            token.transfer(sink, 1)

    started = time.perf_counter()
    run_threads(len(accounts), work)
    elapsed = time.perf_counter() - started
    log.info("100 transfers from 20 threads in %.2f s (%.0f tx/s)", elapsed, 100 / elapsed)
    assert treasury.balance_of(sink) == 100


def test_nonce_taken_elsewhere_is_resynced(market: MarketClient, rpc: Rpc, sender: TxSender) -> None:
    account = dev_account(1)
    token = market.token.with_account(account)
    receiver = Account.create().address
    token.transfer(receiver, 1)  # the sender now tracks this account's nonce
    TxSender(rpc).transact(account, token.address, transfer_data(token, receiver, 1))  # another process
    result = sender.transact(account, token.address, transfer_data(token, receiver, 1))
    assert result.gas_used > 0
    assert token.balance_of(receiver) == 3


def test_failed_estimate_raises_the_decoded_error_and_sends_nothing(market: MarketClient, rpc: Rpc) -> None:
    account = dev_account(1)
    token = market.token.with_account(account)
    nonce = rpc.nonce(account.address)
    with pytest.raises(ContractRevert) as info:
        token.transfer(Account.create().address, tokens(1_000_000))
    assert info.value.error_name == "ERC20InsufficientBalance"
    assert info.value.fields["needed"] == tokens(1_000_000)
    assert info.value.tx_hash is None
    assert rpc.nonce(account.address) == nonce


def test_revert_in_a_mined_transaction_is_replayed_and_decoded(
    market: MarketClient, rpc: Rpc, sender: TxSender
) -> None:
    account = dev_account(1)
    data = transfer_data(market.token, Account.create().address, tokens(1_000_000))
    with pytest.raises(ContractRevert) as info:
        sender.transact(account, market.token.address, data, gas=100_000)
    assert info.value.error_name == "ERC20InsufficientBalance"
    assert info.value.tx_hash is not None
    receipt = rpc.receipt(info.value.tx_hash)
    assert receipt is not None and receipt["status"] == "0x0"


def test_out_of_gas_is_reported_as_such(market: MarketClient, sender: TxSender) -> None:
    data = transfer_data(market.token, Account.create().address, 1)
    with pytest.raises(ContractRevert, match="ran out of gas"):
        sender.transact(dev_account(1), market.token.address, data, gas=30_000)


@pytest.fixture(scope="module")
def live_like_chain() -> Iterator[Rpc]:
    """An anvil that claims a mainnet-like chain id and never mines."""
    with AnvilProcess(chain_id=8453, extra_args=("--no-mining",)) as node:
        yield Rpc.connect(node.url, expected_chain_id=8453)


def test_dev_key_is_refused_before_sending_on_a_live_chain(live_like_chain: Rpc) -> None:
    account = dev_account(0)
    with pytest.raises(DevKeyOnLiveChain, match="8453"):
        TxSender(live_like_chain).transact(account, account.address, b"")
    assert live_like_chain.nonce(account.address) == 0


def test_unmined_transaction_times_out(live_like_chain: Rpc) -> None:
    account = Account.create()
    # DevChain refuses a non-dev chain id, so the cheat call goes out directly.
    live_like_chain.request("anvil_setBalance", [account.address, hex(10**18)])
    sender = TxSender(live_like_chain, timeout=0.2)
    with pytest.raises(TransactionTimeout):
        sender.transact(account, Account.create().address, b"", gas=21_000)
