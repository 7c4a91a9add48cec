"""Deploy `MarketTimelock` (the market's governor) and `CrowdMarket` (whose constructor creates the CROWD
token); record them in `deployments/<chainId>.json`.

The market's parameters change only through the timelock: a proposer schedules `setConfig`, anyone may read
it on chain for `min_delay` seconds, then an executor executes it. The guardian may pause new posts and claims
at once. By default the deployer is the timelock's only proposer and executor and the guardian; a live
deployment should name a multisig for each (`GovernanceSetup`).

`deploy()` checks everything before it sends anything, each failure under its own name: a key is configured
(`MissingKey`), the node answers (`RpcUnreachable`), it serves the expected chain (`ChainIdMismatch`), and a
public dev key is not pointed at a live chain (`DevKeyOnLiveChain`).
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from chain.abi import ContractCodec, encode_params
from chain.compiler import Artifacts, compile_contracts
from chain.deployments import save_deployment
from chain.keys import Prompt, ensure_key_allowed, load_account
from chain.paths import DEPLOYMENTS_DIR
from chain.primitives import DEV_CHAIN_IDS, ZERO_ADDRESS
from chain.rpc import Rpc
from chain.sender import TxSender
from chain.types import BlockNumber, Deployment, Governance, MarketConfig, TxHash, Wei, tokens

log = logging.getLogger(__name__)

# Rewards (1 %) stay below the burned protocol fee (2 %), so dealing with oneself always costs 1 % of the
# budget; collateral is at least 10 % of the budget; at most 250,000 tokens of rewards a day, so the default
# emission (900 M) lasts at least ten years.
DEFAULT_CONFIG = MarketConfig(
    unbonding_delay=7 * 24 * 3600,
    min_provider_stake=tokens(100),
    min_validator_stake=tokens(100),
    validator_slash=tokens(10),
    reward_bps=100,
    fee_bps=200,
    min_collateral_bps=1_000,
    epoch_length=24 * 3600,
    epoch_reward_cap=tokens(250_000),
)
# A dev chain unbonds in an hour so the whole cycle can be tried by hand.
DEV_CONFIG = dataclasses.replace(DEFAULT_CONFIG, unbonding_delay=3600)


# Seconds a parameter change waits in the timelock: two days on a live chain, a minute on a dev chain (so a
# change can be tried by hand).
DEFAULT_TIMELOCK_DELAY = 2 * 24 * 3600
DEV_TIMELOCK_DELAY = 60


@dataclass(frozen=True)
class GovernanceSetup:
    """The timelock's delay and roles and the market's guardian; unset accounts default to the deployer."""

    min_delay: int | None = None  # None: DEV_TIMELOCK_DELAY on a dev chain, else DEFAULT_TIMELOCK_DELAY
    proposers: tuple[str, ...] = ()
    executors: tuple[str, ...] = ()
    guardian: str | None = None

    def resolve(
        self, chain_id: int, deployer: str
    ) -> tuple[int, list[ChecksumAddress], list[ChecksumAddress], ChecksumAddress]:
        delay = self.min_delay
        if delay is None:
            delay = DEV_TIMELOCK_DELAY if chain_id in DEV_CHAIN_IDS else DEFAULT_TIMELOCK_DELAY
        if delay < 0:
            raise ValueError(f"the timelock's delay must not be negative, got {delay}")
        proposers = [to_checksum_address(a) for a in self.proposers or (deployer,)]
        executors = [to_checksum_address(a) for a in self.executors or (deployer,)]
        return delay, proposers, executors, to_checksum_address(self.guardian or deployer)


@dataclass(frozen=True)
class Supply:
    """The token's supply: `initial` goes to the treasury at deployment, the rest of `cap` is for rewards."""

    initial: Wei = tokens(100_000_000)  # noqa: RUF009 (an immutable int)
    cap: Wei = tokens(1_000_000_000)  # noqa: RUF009


def _constructor_args(
    codec: ContractCodec,
    config: MarketConfig,
    treasury: str,
    supply: Supply,
    *,
    governor: str,
    guardian: str,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The constructor's parameters and values, matched by name so a reordering cannot swap amounts."""
    params: list[dict[str, Any]] = next(
        (e for e in codec.abi if e.get("type") == "constructor"), {"inputs": []}
    )["inputs"]
    by_name: Mapping[str, Any] = {
        "config": config.to_abi(),
        "marketConfig": config.to_abi(),
        "treasury": treasury,
        "initialSupply": supply.initial,
        "cap": supply.cap,
        "cap_": supply.cap,
        "supplyCap": supply.cap,
        "governor": governor,
        "guardian": guardian,
    }
    values = []
    for param in params:
        name = param["name"]
        if name not in by_name:
            raise TypeError(
                f"CrowdMarket's constructor takes {name!r}, which deploy does not know how to fill"
            )
        values.append(by_name[name])
    return list(params), values


def deploy_market(
    rpc: Rpc,
    account: LocalAccount,
    *,
    config: MarketConfig = DEFAULT_CONFIG,
    supply: Supply = Supply(),
    treasury: str | None = None,
    artifacts: Artifacts | None = None,
    sender: TxSender | None = None,
    save_dir: Path | None = DEPLOYMENTS_DIR,
    governance: GovernanceSetup = GovernanceSetup(),
) -> Deployment:
    """Deploy the timelock, then the market governed by it, with `account` through `rpc`; the treasury
    (default: the deployer) gets the initial supply."""
    ensure_key_allowed(account.address, rpc.chain_id)
    artifacts = artifacts or compile_contracts()
    sender = sender or TxSender(rpc)
    delay, proposers, executors, guardian = governance.resolve(rpc.chain_id, account.address)
    timelock = _deploy_timelock(artifacts, account, sender, delay, proposers, executors)
    market = artifacts["CrowdMarket"]
    codec = ContractCodec(market.abi)
    treasury_address = to_checksum_address(treasury or account.address)
    params, values = _constructor_args(
        codec, config, treasury_address, supply, governor=timelock, guardian=guardian
    )
    data = bytes.fromhex(market.bytecode[2:]) + encode_params(params, values)
    result = sender.transact(account, None, data)
    address = sender.contract_address(result)
    token_call = codec.function("token")
    token = token_call.decode_output(rpc.call({"to": address, "data": token_call.encode()}))
    key_release_call = codec.function("keyRelease")
    key_release = key_release_call.decode_output(rpc.call({"to": address, "data": key_release_call.encode()}))
    deployment = Deployment(
        chain_id=rpc.chain_id,
        market=to_checksum_address(address),
        token=to_checksum_address(token),
        block_number=BlockNumber(result.block_number),
        deployer=to_checksum_address(account.address),
        tx_hash=TxHash(result.tx_hash),
        config=config,
        abi_hash=artifacts.abi_hash("CrowdMarket", "CrowdToken"),
        treasury=treasury_address,
        key_release=to_checksum_address(key_release),
        governance=Governance(
            timelock=timelock,
            min_delay=delay,
            proposers=tuple(proposers),
            executors=tuple(executors),
            guardian=guardian,
        ),
    )
    if save_dir is not None:
        path = save_deployment(deployment, save_dir)
        log.info(
            "deployed CrowdMarket at %s (token %s, governor %s, %d s delay, guardian %s); recorded in %s",
            address,
            deployment.token,
            timelock,
            delay,
            guardian,
            path,
        )
    return deployment


def _deploy_timelock(
    artifacts: Artifacts,
    account: LocalAccount,
    sender: TxSender,
    delay: int,
    proposers: list[ChecksumAddress],
    executors: list[ChecksumAddress],
) -> ChecksumAddress:
    """A MarketTimelock that administers itself (no admin): its roles change only through its own delay."""
    timelock = artifacts["MarketTimelock"]
    params = next(e for e in timelock.abi if e.get("type") == "constructor")["inputs"]
    args = encode_params(params, [delay, proposers, executors, ZERO_ADDRESS])
    result = sender.transact(account, None, bytes.fromhex(timelock.bytecode[2:]) + args)
    return to_checksum_address(sender.contract_address(result))


def deploy(
    rpc_url: str,
    *,
    expected_chain_id: int,
    keystore: Path | None = None,
    password: str | None = None,
    env: Mapping[str, str] | None = None,
    prompt: Prompt | None = getpass.getpass,
    config: MarketConfig = DEFAULT_CONFIG,
    supply: Supply = Supply(),
    treasury: str | None = None,
    save_dir: Path | None = DEPLOYMENTS_DIR,
    governance: GovernanceSetup = GovernanceSetup(),
) -> Deployment:
    """Check key, node, chain id and dev-key use, then deploy (see the module docstring)."""
    account = load_account(keystore=keystore, password=password, env=env, prompt=prompt)
    rpc = Rpc.connect(rpc_url, expected_chain_id=expected_chain_id)
    ensure_key_allowed(account.address, rpc.chain_id)
    return deploy_market(
        rpc,
        account,
        config=config,
        supply=supply,
        treasury=treasury,
        save_dir=save_dir,
        governance=governance,
    )
