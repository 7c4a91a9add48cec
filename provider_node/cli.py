"""`crowdcompute provider register|stake|unstake|withdraw|status|run`: a compute provider's commands.

Every command takes `--json` (one JSON object on stdout; token amounts as decimal strings of base units)
and fails with one line naming the problem (a contract revert decoded into words) and exit status 1.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from chain import ZERO_BYTES32, Capabilities, ChainError, PayWith, Role, Wei
from cli_support import (
    AMOUNT_ARGUMENT,
    DEFAULT_GATEWAY_URL,
    ChainOptions,
    ConfirmationsOption,
    GatewayOption,
    PayOption,
    PollIntervalOption,
    SentTx,
    StoreDirOption,
    chain_options,
    noun_app,
    open_node_store,
    parse_tokens,
    run_daemon,
    sent_payment,
    sent_tx,
    token_amount,
    when,
)
from jobs.cid import parse_cid
from jobs.errors import JobsError
from node_base import NodeBaseError, hold_data_dir, node_data_dir, node_label
from provider_node.config import DEFAULT_DATA_DIR, NodeConfig
from provider_node.energy import EnergySettings
from provider_node.errors import ProviderNodeError
from provider_node.gpu_support import probe_gpu_support
from provider_node.hardware import GpuProbe, probe

__all__ = ["provider_app"]

provider_app = noun_app(
    "provider", "Offer this machine's compute: register, stake, run the provider daemon, check standing."
)

_FAILURES = (ChainError, JobsError, NodeBaseError, ProviderNodeError, OSError, ValueError)
MIB = 1024 * 1024
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CROWDCOMPUTE_PROVIDER_DIR",
        help="The node's state, bundles and runs (default: ~/.crowdcompute/provider/<address>/).",
        show_default=False,
    ),
]
CountOption = Annotated[int | None, typer.Option(min=0, show_default=False)]
DEFAULT_PRICE = "1"  # tokens per hour of runTimeout: crowdcompute/demo/stack.py's PROVIDER_PRICE


def _probed_capabilities(work_dir: Path) -> tuple[dict[str, Any], dict[str, int]]:
    existing = next(path for path in (work_dir, *work_dir.parents) if path.exists())  # disk of the data dir
    profile = probe(existing)
    # GPUs are advertised only where jobs can use them: nvidia runtime, NVML's GPUs and the GPU image.
    nvml = GpuProbe(profile.gpus, profile.gpu_driver_version, profile.gpu_error)
    gpu = probe_gpu_support(lambda: nvml)
    caps = {
        **gpu.capabilities(),
        "cpu_cores": max(1, math.floor(profile.cpu_cores)),
        "memory_mib": profile.memory_bytes // MIB,
    }
    return {**profile.to_dict(), "gpu_support": gpu.to_dict()}, caps


@provider_app.command("register")
@chain_options()
def register(
    price: Annotated[
        str,
        typer.Option(
            "--price",
            help="Least tokens per hour of runTimeout this node takes a job for (e.g. 1.5): a job pays its "
            "budget over its runTimeout, so the default budget of 10 tokens meets the default price of 1 "
            "for any timeout up to 10 hours.",
        ),
    ] = DEFAULT_PRICE,
    gpus: CountOption = None,
    gpu_memory_mib: CountOption = None,
    gpu_class: CountOption = None,
    cpu_cores: CountOption = None,
    memory_mib: CountOption = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="CID of a metadata document.", show_default=False)
    ] = None,
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    *,
    opts: ChainOptions,
) -> None:
    """Register or update this provider: probed capabilities (each overridable) and a price per hour."""
    out = opts.output()
    try:
        price_units = parse_tokens(price, what="--price", allow_zero=True)
        probed, caps = _probed_capabilities((data_dir or DEFAULT_DATA_DIR).expanduser())
        given = {"gpu_count": gpus, "gpu_memory_mib": gpu_memory_mib, "gpu_class": gpu_class}
        given |= {"cpu_cores": cpu_cores, "memory_mib": memory_mib}
        caps |= {name: value for name, value in given.items() if value is not None}
        digest = parse_cid(metadata).digest if metadata else ZERO_BYTES32
        capabilities = Capabilities(**caps, price_per_hour=price_units)
        market = opts.connect()
        with out.progress("Registering provider"):
            registered = market.register_provider(capabilities, digest)
    except _FAILURES as exc:
        out.fail(exc)
    abi = registered.capabilities.to_abi()
    payload = {
        "address": registered.provider,
        "capabilities": {k: str(v) if k == "pricePerHour" else v for k, v in abi.items()},
        "metadataDigest": "0x" + registered.metadata_digest.hex(),
        "probe": probed,
        **sent_tx(registered.tx),
    }
    c = registered.capabilities
    text = (
        f"registered {registered.provider}: {c.gpu_count} GPU(s) x {c.gpu_memory_mib} MiB "
        f"(class {c.gpu_class}), {c.cpu_cores} CPU cores, {c.memory_mib} MiB memory, "
        f"{token_amount(c.price_per_hour)} per hour"
    )
    if probed["gpu_count"] and not c.gpu_count:  # NVML sees GPUs that jobs could not use: say why
        text += f"; {probed['gpu_count']} GPU(s) not offered: {'; '.join(probed['gpu_support']['missing'])}"
    out.emit(payload, text)


@provider_app.command("stake", context_settings=AMOUNT_ARGUMENT)
@chain_options()
def stake(
    amount: Annotated[str, typer.Argument(help="Tokens to stake (e.g. 100 or 12.5).")],
    pay: PayOption = PayWith.AUTO,
    permit: Annotated[bool, typer.Option("--permit", hidden=True, help="The same as --pay permit.")] = False,
    *,
    opts: ChainOptions,
) -> None:
    """Add stake. The market takes it from your allowance: by default the standing one when it covers
    AMOUNT, else an EIP-2612 permit in the staking transaction, else an approve of exactly AMOUNT first."""
    out = opts.output()
    try:
        units = parse_tokens(amount)
        market = opts.connect()
        with out.progress("Staking"):
            staked = market.stake(units, pay=PayWith.PERMIT if permit else pay)
    except _FAILURES as exc:
        out.fail(exc)
    payload = {"address": staked.account, "amount": str(staked.amount), "totalStake": str(staked.total_stake)}
    text = (
        f"staked {token_amount(staked.amount)}; total stake {token_amount(staked.total_stake)} "
        f"(paid by {staked.payment.method})"
    )
    out.emit({**payload, **sent_tx(staked.tx), "payment": sent_payment(staked.payment)}, text)


@provider_app.command("unstake", context_settings=AMOUNT_ARGUMENT)
@chain_options()
def unstake(
    amount: Annotated[str, typer.Argument(help="Tokens of free stake to start unbonding.")],
    *,
    opts: ChainOptions,
) -> None:
    """Request unbonding of free stake; `withdraw` pays it out after the unbonding delay."""
    out = opts.output()
    try:
        units = parse_tokens(amount)
        market = opts.connect()
        with out.progress("Requesting unbond"):
            requested = market.request_unbond(units)
            unbonding = market.account_of().unbonding
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "address": requested.account,
        "amount": str(requested.amount),
        "unbonding": str(unbonding),
        "releaseAt": requested.release_at,
        **sent_tx(requested.tx),
    }
    text = (
        f"unbonding {token_amount(requested.amount)} (total unbonding {token_amount(unbonding)}); "
        f"withdrawable from {when(requested.release_at)}"
    )
    out.emit(payload, text)


@provider_app.command("withdraw")
@chain_options()
def withdraw(
    stake_only: Annotated[bool, typer.Option("--stake-only", help="Only the unbonded stake.")] = False,
    earnings_only: Annotated[bool, typer.Option("--earnings-only", help="Only the balance.")] = False,
    *,
    opts: ChainOptions,
) -> None:
    """Withdraw unbonded stake (after the delay) and/or the earnings balance with owed rewards."""
    out = opts.output()
    unbonded, earnings, reward = Wei(0), Wei(0), Wei(0)
    sent: list[SentTx] = []
    try:
        market = opts.connect()
        account = market.account_of()
        now = max(int(market.rpc.get_block("latest")["timestamp"], 16), int(time.time()))
        take_stake = not earnings_only and account.unbonding > 0
        take_earnings = not stake_only and (account.balance > 0 or account.reward_owed > 0)
        if not take_stake and not take_earnings:
            raise ValueError(
                f"nothing to withdraw: {market.me} has no unbonding stake and no earnings balance"
            )
        stake_ready = now >= account.unbonding_release_at
        with out.progress("Withdrawing"):
            # Locked stake alone: send anyway, so the contract's UnbondingLocked error names the release time.
            if take_stake and (stake_ready or not take_earnings):
                done = market.withdraw_unbonded()
                unbonded = done.amount
                sent.append(sent_tx(done.tx))
            if take_earnings:
                paid = market.withdraw()
                earnings, reward = paid.amount, paid.reward
                sent.append(sent_tx(paid.tx))
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "unbonded": str(unbonded),
        "earnings": str(earnings),
        "reward": str(reward),
        "txs": sent,
    }
    text = (
        f"withdrew {token_amount(unbonded)} of stake, {token_amount(earnings)} of earnings "
        f"and {token_amount(reward)} of rewards"
    )
    if take_stake and not stake_ready:
        text += f" (the unbonding stake is released at {when(account.unbonding_release_at)})"
    out.emit(payload, text)


@provider_app.command("status")
@chain_options()
def status(
    data_dir: DataDirOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """Stake, locked collateral, unbonding, balance, rewards, and jobs (active and completed)."""
    from provider_node.status import provider_status

    out = opts.output()
    try:
        market = opts.connect()
        with out.progress("Reading the market's events"):
            folder = node_data_dir(data_dir, Role.PROVIDER, market.me)
            current = provider_status(market, market.me, data_dir=folder)
    except _FAILURES as exc:
        out.fail(exc)
    a = current.account
    release = ""
    if a.unbonding:
        state = "released since" if current.unbonding_released else "released at"
        release = f" ({state} {when(a.unbonding_release_at)})"
    active = ", ".join(map(str, current.active)) or "none"
    text = "\n".join(
        [
            f"provider {current.address} ({current.to_json()['role']})",
            f"  stake      {token_amount(a.stake)} ({token_amount(a.locked)} locked as collateral)",
            f"  unbonding  {token_amount(a.unbonding)}{release}",
            f"  balance    {token_amount(a.balance)} + {token_amount(a.reward_owed)} reward owed",
            f"  jobs       {current.claimed} claimed, {current.submitted} submitted, "
            f"{current.completed} completed, {current.expired} expired; active: {active}",
        ]
    )
    out.emit(current.to_json(), text)


@provider_app.command("encryption-key")
@chain_options()
def encryption_key(
    data_dir: DataDirOption = None,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate", help="Make a new key pair and publish it; older ones stay to open old seals."
        ),
    ] = False,
    *,
    opts: ChainOptions,
) -> None:
    """This node's encryption key for confidential jobs: created and published on chain when it has none
    (the daemon does so at start too), or rotated. The private halves stay in the node's folder."""
    from node_base.encryption import encryption_key_report

    out = opts.output()
    try:
        market = opts.connect()
        folder = node_data_dir(data_dir, Role.PROVIDER, market.me)
        report = encryption_key_report(market, folder / "encryption-keys", rotate=rotate)
    except _FAILURES as exc:
        out.fail(exc)
    what = "rotated to" if rotate else "is"
    out.emit(report, f"{market.me}'s encryption key {what} {report['encryptionKey']} (published on chain)")


@provider_app.command("run")
@chain_options()
def run(
    data_dir: DataDirOption = None,
    capacity: Annotated[int, typer.Option(min=1, help="Most jobs held at once.")] = 1,
    min_price: Annotated[
        str | None, typer.Option(help="Floor in tokens per hour (default: the registered price).")
    ] = None,
    gateway: GatewayOption = DEFAULT_GATEWAY_URL,
    store_dir: StoreDirOption = None,
    poll_interval: PollIntervalOption = 1.0,
    confirmations: ConfirmationsOption = 0,
    skip_risky: Annotated[bool, typer.Option(help="Skip risky jobs instead of warning.")] = False,
    grid_intensity: Annotated[
        float,
        typer.Option(
            "--grid-intensity",
            envvar="CROWDCOMPUTE_GRID_GCO2E_PER_KWH",
            min=0,
            max=10_000,
            help="Carbon intensity of this machine's electricity in gCO2e per kWh (your grid's or supplier's "
            "figure); turns each job's energy into its carbon, reported with the method and this figure.",
        ),
    ] = EnergySettings().grid_gco2e_per_kwh,
    max_appeal_bond: Annotated[
        str | None,
        typer.Option(
            help="Most tokens to bond on appealing a round that rejected this node's result (default: the "
            "job's budget; 0: never appeal). The bond comes back when the final round accepts the result.",
            show_default=False,
        ),
    ] = None,
    executor: Annotated[
        str, typer.Option(hidden=True, help="docker, or noop (development only).")
    ] = "docker",
    node_id: Annotated[
        str | None,
        typer.Option(
            hidden=True, help="Container label of this node (default: its address and data folder)."
        ),
    ] = None,
    *,
    opts: ChainOptions,
) -> None:
    """Run the provider daemon until interrupted: match, claim, run in Docker, pin, publish, submit."""
    from jobs.executors import Executor
    from jobs.store import ContentStore
    from node_base import DataDirLock
    from provider_node.daemon import ProviderNode

    def build() -> tuple[ProviderNode, tuple[Executor, ContentStore, DataDirLock]]:
        floor = parse_tokens(min_price, what="--min-price", allow_zero=True) if min_price else None
        appeal_limit = (
            parse_tokens(max_appeal_bond, what="--max-appeal-bond", allow_zero=True)
            if max_appeal_bond is not None
            else None
        )
        market = opts.connect()
        folder = hold_data_dir(data_dir, Role.PROVIDER, market.me)  # held until the daemon stops
        config = NodeConfig(
            data_dir=folder.data_dir,
            capacity=capacity,
            min_price_per_hour=floor,
            poll_interval_s=poll_interval,
            confirmations=confirmations,
            skip_risky=skip_risky,
            gateway_url=gateway or None,
            max_appeal_bond=appeal_limit,
        )
        store = open_node_store(store_dir, gateway)
        engine: Executor
        if executor == "noop":
            from jobs.executors.noop import dev_noop_executor

            engine = dev_noop_executor()
        else:
            from jobs.executors.docker import DockerExecutor

            engine = DockerExecutor(node_id=node_id or node_label(Role.PROVIDER, market.me, folder.data_dir))
        energy = EnergySettings(grid_gco2e_per_kwh=grid_intensity)
        return ProviderNode(market, store, engine, config, energy=energy), (engine, store, folder)

    run_daemon(opts.output(), _FAILURES, build)
