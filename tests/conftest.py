"""Shared fixtures: one real anvil and one market deployment per session; each test runs inside a snapshot.

Fixtures are lazy: suites that never ask for the chain never start anvil or compile the contracts.
Tests are marked by what they need (`chain`, `docker`, `browser`) so `make test-fast` can leave those out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chain import (
    DEV_ADDRESSES,
    AnvilProcess,
    Artifacts,
    Deployment,
    DevChain,
    MarketClient,
    MarketConfig,
    RevertDecoder,
    Rpc,
    TxSender,
    compile_contracts,
    deploy_market,
    dev_account,
    tokens,
)
from jobs.executors.base import numeric_env

# Training the tests do in this process (the expected digests a container's run must match) runs with the
# numeric settings the executors give every job; MKL reads this when torch first loads it, so it is set
# here, before any test module imports torch.
os.environ.setdefault("MKL_CBWR", numeric_env(1)["MKL_CBWR"])

TEST_CONFIG = MarketConfig(
    unbonding_delay=3600,
    min_provider_stake=tokens(100),
    min_validator_stake=tokens(100),
    validator_slash=tokens(10),
    reward_bps=100,
    fee_bps=200,
    min_collateral_bps=1_000,
    epoch_length=24 * 3600,
    epoch_reward_cap=tokens(250_000),
)
# Every dev account but the deployer starts with this many tokens.
TEST_FUNDING = tokens(10_000)

# A test is marked with each heavy dependency one of these fixtures brings into its closure (transitively:
# `market` needs `anvil`). Tests that start anvil, Docker or Chromium without a fixture carry a module
# `pytestmark`. tests/test_markers.py fails when a fixture that needs one of them is missing here.
NEEDS: dict[str, frozenset[str]] = {
    "chain": frozenset({"anvil", "live_like_chain", "other_chain"}),  # anvil, the market deployed on it
    "docker": frozenset(
        {"docker_client", "node_label", "runtime_image"}
    ),  # the engine (node_label removes containers)
    "browser": frozenset(),  # no fixture yet: tests/e2e/test_browser_flow.py is marked by its module
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in NEEDS.items():
            if used & fixtures:
                item.add_marker(marker)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--min-tests",
        type=int,
        default=0,
        metavar="N",
        help="fail the run when fewer than N tests passed, so a filter that selects too little fails loudly",
    )


def _too_few(config: pytest.Config) -> str | None:
    """Why the run fails under `--min-tests`, or None (xdist workers leave the count to the controller)."""
    floor = config.getoption("--min-tests")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not floor or hasattr(config, "workerinput") or reporter is None:
        return None
    passed = len(reporter.stats.get("passed", ()))
    return f"only {passed} tests passed; --min-tests wants at least {floor}" if passed < floor else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.exitstatus == pytest.ExitCode.OK and _too_few(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    problem = _too_few(config)
    if problem:
        terminalreporter.write_sep("=", problem, red=True)


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return compile_contracts()


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    """A real anvil that mines only on transactions (and `evm_mine`), so block counts are deterministic."""
    with AnvilProcess() as node:
        yield node


@pytest.fixture(scope="session")
def rpc(anvil: AnvilProcess, artifacts: Artifacts) -> Rpc:
    return Rpc.connect(
        anvil.url, expected_chain_id=anvil.chain_id, decoder=RevertDecoder(a.abi for a in artifacts)
    )


@pytest.fixture(scope="session")
def sender(rpc: Rpc) -> TxSender:
    return TxSender(rpc, timeout=20)


@pytest.fixture(scope="session")
def deployment(rpc: Rpc, artifacts: Artifacts, sender: TxSender) -> Deployment:
    """The market deployed by dev account 0 (the treasury), accounts 1..9 funded: every test's base state."""
    deployed = deploy_market(
        rpc, dev_account(0), config=TEST_CONFIG, artifacts=artifacts, sender=sender, save_dir=None
    )
    treasury = MarketClient(rpc, deployed, artifacts=artifacts, sender=sender, account=dev_account(0)).token
    for address in DEV_ADDRESSES[1:]:
        treasury.transfer(address, TEST_FUNDING)
    return deployed


@pytest.fixture
def dev_chain(rpc: Rpc, sender: TxSender, deployment: Deployment) -> Iterator[DevChain]:
    """Anvil controls, with the chain rolled back to the session's base state after the test."""
    chain = DevChain(rpc)
    snapshot = chain.snapshot()
    try:
        yield chain
    finally:
        chain.revert(snapshot)
        sender.reset_nonces()


@pytest.fixture
def market(
    dev_chain: DevChain, rpc: Rpc, deployment: Deployment, artifacts: Artifacts, sender: TxSender
) -> MarketClient:
    """A fresh client (empty job cache) acting as the deployer; `market.with_account(...)` for others."""
    return MarketClient(rpc, deployment, artifacts=artifacts, sender=sender, account=dev_account(0))
