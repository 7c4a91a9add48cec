"""The connection options every chain command takes, declared once and resolved once per command line.

`--rpc-url`, `--deployments-dir`, `--devnet-dir`, `--keystore` and `--json` are accepted after the noun
(`crowdcompute provider --rpc-url URL status`), where the noun's callback (`connection_callback`) reads
them, and after the command (`crowdcompute provider status --rpc-url URL`), where `chain_options` adds
them to the command. What the command line gives at the command wins over what it gives at the noun;
environment variables and defaults are the same at both. The command receives one `ChainOptions`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from chain import DEPLOYMENTS_DIR, DEVNET_DIR, MarketClient, PayWith
from cli_support.connection import connect
from cli_support.output import Output

__all__ = [
    "AMOUNT_ARGUMENT",
    "DEFAULT_DEPLOYMENTS",
    "DEFAULT_DEVNET",
    "ChainOptions",
    "DeploymentsOption",
    "DevnetOption",
    "JsonOption",
    "KeystoreOption",
    "PayOption",
    "RpcUrlOption",
    "chain_options",
    "connection_callback",
    "noun_app",
]

DEFAULT_DEPLOYMENTS = DEPLOYMENTS_DIR
DEFAULT_DEVNET = DEVNET_DIR

AMOUNT_ARGUMENT: dict[str, Any] = {"ignore_unknown_options": True}
"""`context_settings` of a command that takes a token amount as an argument (`provider stake AMOUNT`):
a negative amount such as `-1` reaches the command, which refuses it with "must be > 0" (`parse_tokens`),
instead of Click reading it as an unknown option ("No such option: -1")."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
RpcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        envvar="CROWDCOMPUTE_RPC_URL",
        help="JSON-RPC URL (default: the devnet's, else http://127.0.0.1:8545).",
        show_default=False,
    ),
]
DeploymentsOption = Annotated[
    Path,
    typer.Option(
        "--deployments-dir",
        envvar="CROWDCOMPUTE_DEPLOYMENTS_DIR",
        help="Folder of deployment records (<chainId>.json).",
    ),
]
DevnetOption = Annotated[Path, typer.Option("--devnet-dir", help="Where `devnet up` records the devnet.")]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        envvar="CROWDCOMPUTE_KEYSTORE",
        help="Encrypted keystore file (else CROWDCOMPUTE_PRIVATE_KEY).",
        show_default=False,
    ),
]
PayOption = Annotated[
    PayWith,
    typer.Option(
        "--pay",
        help="How the market is allowed to take the payment: auto (the standing allowance if it covers it, "
        "else an EIP-2612 permit, else an approve of exactly the amount), allowance, permit or approve.",
    ),
]
"""The `--pay` option of every command that pays the market (`job submit`, `provider stake`, `validator
register`): never more than the payment is approved."""


@dataclass(frozen=True)
class ChainOptions:
    """Which chain, which deployment, which key, and whether to print JSON."""

    rpc_url: str | None = None
    deployments_dir: Path = DEFAULT_DEPLOYMENTS
    devnet_dir: Path = DEFAULT_DEVNET
    keystore: Path | None = None
    as_json: bool = False

    def output(self) -> Output:
        return Output(self.as_json)

    def connect(self, *, signing: bool = True) -> MarketClient:
        """The market client; `signing=False` reads only and needs no key."""
        return connect(self.rpc_url, self.deployments_dir, self.devnet_dir, self.keystore, signing=signing)


def _parameter(name: str, annotation: Any) -> inspect.Parameter:
    default = getattr(ChainOptions, name)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The one declaration of the options, in the order `--help` lists them.
_OPTIONS: tuple[inspect.Parameter, ...] = (
    _parameter("rpc_url", RpcUrlOption),
    _parameter("deployments_dir", DeploymentsOption),
    _parameter("devnet_dir", DevnetOption),
    _parameter("keystore", KeystoreOption),
    _parameter("as_json", JsonOption),
)
_CHAIN = frozenset({"rpc_url", "deployments_dir", "devnet_dir"})
# Typer hands a parameter annotated `typer.Context` the command's context (it is no option).
_CONTEXT = inspect.Parameter("typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
assert {p.name for p in _OPTIONS} == {f.name for f in fields(ChainOptions)}


def _with_signature(func: Callable[..., Any], params: list[inspect.Parameter]) -> None:
    """Make Typer see `params` as `func`'s parameters (it reads `__signature__` and `__annotations__`)."""
    signature = inspect.signature(func, eval_str=True).replace(parameters=params)
    func.__signature__ = signature  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params} | {"return": signature.return_annotation}


def connection_callback(ctx: typer.Context, **given: Any) -> None:
    """A noun's Typer callback (`typer.Typer(callback=connection_callback)`): the options given after the
    noun, kept for its commands."""
    ctx.obj = ChainOptions(**given)


_with_signature(
    connection_callback,
    [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context), *_OPTIONS],
)


def _from_command_line(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _resolved(ctx: typer.Context, given: dict[str, Any]) -> ChainOptions:
    """The command's own values where its command line gave them; else the noun's (which are the same
    environment variables and defaults where the noun's command line gave nothing)."""
    noun = ctx.find_object(ChainOptions)
    values = {}
    for option in fields(ChainOptions):
        name = option.name
        if name in given and (noun is None or _from_command_line(ctx, name)):
            values[name] = given[name]
        elif noun is not None:
            values[name] = getattr(noun, name)
    return ChainOptions(**values)


R = TypeVar("R")


def chain_options(
    *, chain: bool = True, keystore: bool = True
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command the connection options; the command takes them as `opts: ChainOptions`.

    `keystore=False`: a command that only reads the chain; `chain=False`: one that takes only `--json`.
    """
    wanted = [
        p
        for p in _OPTIONS
        if (chain or p.name not in _CHAIN) and ((chain and keystore) or p.name != "keystore")
    ]

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> R:
            ctx = kwargs.pop(_CONTEXT.name)
            given = {p.name: kwargs.pop(p.name) for p in wanted}
            return command(*args, opts=_resolved(ctx, given), **kwargs)

        _with_signature(run, [*own, *wanted, _CONTEXT])
        return run

    return decorate


def noun_app(name: str, help: str) -> typer.Typer:
    """A noun's Typer (`crowdcompute provider|validator|job`): its commands, and the connection options
    taken after the noun."""
    return typer.Typer(
        name=name, help=help, no_args_is_help=True, add_completion=False, callback=connection_callback
    )
