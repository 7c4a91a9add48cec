"""`crowdcompute validator register|run|status`: a validator's commands.

Every command takes `--json` (one JSON object on stdout; token amounts as decimal strings of base units)
and fails with one line naming the problem (a contract revert decoded into words) and exit status 1.
The key comes from CROWDCOMPUTE_PRIVATE_KEY or `--keystore` (see cli_support/connection.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chain import ChainError, PayWith, Role, Wei, enum_label
from cli_support import (
    DEFAULT_GATEWAY_URL,
    ChainOptions,
    ConfirmationsOption,
    GatewayOption,
    PayOption,
    PollIntervalOption,
    StoreDirOption,
    chain_options,
    noun_app,
    open_node_store,
    parse_tokens,
    run_daemon,
    sent_payment,
    sent_tx,
    token_amount,
)
from jobs.errors import JobsError
from node_base import NodeBaseError, hold_data_dir, node_data_dir, node_label
from validator.config import ValidatorConfig
from validator.errors import ValidatorError

__all__ = ["validator_app"]

validator_app = noun_app(
    "validator", "Check other people's work: register and stake, run the validator daemon, check standing."
)

_FAILURES = (ChainError, JobsError, NodeBaseError, ValidatorError, OSError, ValueError)
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CROWDCOMPUTE_VALIDATOR_DIR",
        help="The node's state and work files (default: ~/.crowdcompute/validator/<address>/).",
        show_default=False,
    ),
]


@validator_app.command("register")
@chain_options()
def register(
    stake: Annotated[
        str | None,
        typer.Option(help="Tokens to stake first (default: what reaches the validator minimum)."),
    ] = None,
    pay: PayOption = PayWith.AUTO,
    *,
    opts: ChainOptions,
) -> None:
    """Stake (to the minimum, or --stake more) and join the validator roster (seats are drawn by stake). The
    market takes the stake from your allowance: by default the standing one when it covers the stake, else an
    EIP-2612 permit in the staking transaction, else an approve of exactly the stake first."""
    out = opts.output()
    payload: dict[str, Any] = {}
    try:
        given = parse_tokens(stake, what="--stake") if stake is not None else None  # before any RPC call
        market = opts.connect()
        account = market.account_of()
        if account.role == Role.PROVIDER:
            raise ValueError(
                f"{market.me} is registered as a provider; roles are exclusive: use another account"
            )
        minimum = market.config().min_validator_stake
        amount = given if given is not None else Wei(max(0, minimum - account.stake))
        if account.role != Role.VALIDATOR and account.stake + amount < minimum:
            # Refuse before staking: a stake that cannot join the list would sit locked until unbonded.
            raise ValueError(
                f"staking {token_amount(amount)} leaves {token_amount(account.stake + amount)} staked, below "
                f"the validator minimum of {token_amount(minimum)}: pass --stake "
                f"{token_amount(minimum - account.stake, symbol='').strip()} or more, or leave --stake out"
            )
        if amount:
            with out.progress(f"Staking {token_amount(amount)}"):
                staked = market.stake(amount, pay=pay)
            payload["staked"] = {
                "amount": str(amount),
                "total": str(staked.total_stake),
                **sent_tx(staked.tx),
                "payment": sent_payment(staked.payment),
            }
        if account.role == Role.VALIDATOR:
            payload["index"] = None
            text = f"{market.me} is already a validator"
        else:
            with out.progress("Joining the validator roster"):
                joined = market.register_validator()
            payload["index"] = joined.index
            payload["registered"] = sent_tx(joined.tx)
            text = f"{market.me} joined the validator roster (leaf {joined.index}), drawn for seats by stake"
        now = market.account_of()
    except _FAILURES as exc:
        out.fail(exc)
    payload.update({"address": market.me, "stake": str(now.stake)})
    out.emit(payload, f"{text}; stake {token_amount(now.stake)}")


@validator_app.command("status")
@chain_options()
def status(
    data_dir: DataDirOption = None,
    *,
    opts: ChainOptions,
) -> None:
    """Stake, balance, and every committee seat this node held: verdict, evidence, CPU, outcome."""
    from validator.state import VerificationStore

    out = opts.output()
    try:
        market = opts.connect()
        account = market.account_of()
        config = ValidatorConfig(data_dir=node_data_dir(data_dir, Role.VALIDATOR, market.me))
        records = []
        if config.state_path.is_file():
            store = VerificationStore(config.state_path)
            try:
                records = store.records()
            finally:
                store.close()
    except _FAILURES as exc:
        out.fail(exc)
    payload = {
        "address": market.me,
        "account": {
            "role": enum_label(account.role),
            "stake": str(account.stake),
            "unbonding": str(account.unbonding),
            "balance": str(account.balance),
            "reward_owed": str(account.reward_owed),
        },
        "verifications": [record.to_json() for record in records],
    }
    lines = [
        f"validator {market.me} ({enum_label(account.role)})",
        f"  stake    {token_amount(account.stake)}   balance {token_amount(account.balance)}",
        f"  seats    {len(records)}",
    ]
    for record in records:
        cpu = f"{record.cpu_s:.1f} CPU s" if record.cpu_s is not None else "-"
        verdict = {True: "accept", False: "reject", None: "no vote"}[record.approve]
        which = f"attempt {record.attempt}" + (f", round {record.round}" if record.round else "")
        appealed = ", appealed" if record.appealed else ""
        lines.append(
            f"  job {record.job_id} ({which}): {record.phase.value}, {verdict}{appealed}, {cpu}, "
            f"outcome {record.outcome or '-'}: {record.reason}"
        )
    out.emit(payload, "\n".join(lines))


@validator_app.command("encryption-key")
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
        folder = node_data_dir(data_dir, Role.VALIDATOR, market.me)
        report = encryption_key_report(market, folder / "encryption-keys", rotate=rotate)
    except _FAILURES as exc:
        out.fail(exc)
    what = "rotated to" if rotate else "is"
    out.emit(report, f"{market.me}'s encryption key {what} {report['encryptionKey']} (published on chain)")


@validator_app.command("run")
@chain_options()
def run(
    data_dir: DataDirOption = None,
    store_dir: StoreDirOption = None,
    gateway: GatewayOption = DEFAULT_GATEWAY_URL,
    poll_interval: PollIntervalOption = 1.0,
    confirmations: ConfirmationsOption = 0,
    workers: Annotated[int, typer.Option(min=1, help="Verifications run at once.")] = 1,
    finalize: Annotated[
        bool, typer.Option(help="Finalize the jobs this node sat on once their votes are revealed.")
    ] = True,
    keep_work: Annotated[bool, typer.Option(help="Keep fetched results and replay outputs.")] = False,
    warm_replays: Annotated[
        int,
        typer.Option(
            min=0,
            help="Replay containers started when a job is claimed (torch imported, waiting for the sampled "
            "checkpoints), so verification after a submission costs only the replay; 0: none.",
        ),
    ] = 2,
    max_appeal_bond: Annotated[
        str | None,
        typer.Option(
            help="Most tokens to bond on appealing a round this node's vote lost (it believes the decision "
            "wrong); the bond comes back when the final round bears the appeal out. Default: the bond one "
            "of its seats in that round loses if the decision stands; 0: never appeal.",
            show_default=False,
        ),
    ] = None,
    executor: Annotated[
        str, typer.Option(hidden=True, help="docker, or noop (development only: no replay runs).")
    ] = "docker",
    *,
    opts: ChainOptions,
) -> None:
    """Run the validator daemon until interrupted: verify sampled work in Docker, sign votes, hand them to
    the gateway (--gateway relays them: required), finalize."""
    from jobs.executors import Executor
    from jobs.store import ContentStore
    from node_base import DataDirLock
    from validator.daemon import ValidatorNode

    def build() -> tuple[ValidatorNode, tuple[Executor, ContentStore, DataDirLock]]:
        appeal_limit = (
            parse_tokens(max_appeal_bond, what="--max-appeal-bond", allow_zero=True)
            if max_appeal_bond is not None
            else None
        )
        if not gateway:
            raise ValidatorError(
                "--gateway is required: the gateway relays the signed votes of a committee (set it, or "
                "CROWDCOMPUTE_GATEWAY_URL, to the gateway's URL)"
            )
        market = opts.connect()
        folder = hold_data_dir(data_dir, Role.VALIDATOR, market.me)  # held until the daemon stops
        config = ValidatorConfig(
            data_dir=folder.data_dir,
            poll_interval_s=poll_interval,
            confirmations=confirmations,
            workers=workers,
            finalize=finalize,
            keep_work=keep_work,
            warm_replays=0 if executor == "noop" else warm_replays,  # nothing to warm without a container
            max_appeal_bond=appeal_limit,
            gateway_url=gateway,
        )
        store = open_node_store(store_dir, gateway)
        engine: Executor
        if executor == "noop":  # every replay ends at once with the bytes a no-op provider submits
            from jobs.executors.noop import dev_noop_executor

            engine = dev_noop_executor()
        else:
            from jobs.executors.docker import DockerExecutor

            engine = DockerExecutor(node_id=node_label(Role.VALIDATOR, market.me, folder.data_dir))
        return ValidatorNode(market, store, engine, config), (engine, store, folder)

    run_daemon(opts.output(), _FAILURES, build)
