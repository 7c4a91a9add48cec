"""What every command-line tool shares (`crowdcompute provider|validator|job|devnet ...`).

- `options`: the connection options (`--rpc-url`, `--deployments-dir`, `--devnet-dir`, `--keystore`,
  `--json`), declared once, accepted after the noun or the command, resolved into one `ChainOptions`;
- `connection`: from those options to a `MarketClient` acting as the configured key;
- `output`: text or one JSON document, errors as one line with exit status 1, and `SentTx`, the one
  `--json` shape of a sent transaction: `{"tx_hash", "block", "gas_used", "status"}`, and `SentPayment`,
  how a payment to the market was allowed (`--pay`, `PayOption`): `{"method", "amount", "approval"}`;
- `display`: token amounts, addresses and times for people, and token amounts typed by them (a command
  with an amount argument takes `context_settings=AMOUNT_ARGUMENT`, so `-1` is refused as "must be > 0");
- `daemon`: the `run` commands' options, log format, signals, and running a node until stopped.

It may import `chain` and `jobs`, nothing above them.
"""

from cli_support.connection import DEFAULT_RPC_URL, connect, resolve_deployment, resolve_rpc_url
from cli_support.daemon import (
    DEFAULT_GATEWAY_URL,
    ConfirmationsOption,
    Daemon,
    GatewayOption,
    PollIntervalOption,
    StoreDirOption,
    open_node_store,
    run_daemon,
    run_until_stopped,
    setup_daemon_logging,
    stop_on_signals,
)
from cli_support.display import parse_tokens, short_address, token_amount, when
from cli_support.options import (
    AMOUNT_ARGUMENT,
    DEFAULT_DEPLOYMENTS,
    DEFAULT_DEVNET,
    ChainOptions,
    DeploymentsOption,
    DevnetOption,
    JsonOption,
    KeystoreOption,
    PayOption,
    RpcUrlOption,
    chain_options,
    connection_callback,
    noun_app,
)
from cli_support.output import Output, SentPayment, SentTx, sent_payment, sent_tx

__all__ = [
    "AMOUNT_ARGUMENT",
    "DEFAULT_DEPLOYMENTS",
    "DEFAULT_DEVNET",
    "DEFAULT_GATEWAY_URL",
    "DEFAULT_RPC_URL",
    "ChainOptions",
    "ConfirmationsOption",
    "Daemon",
    "DeploymentsOption",
    "DevnetOption",
    "GatewayOption",
    "JsonOption",
    "KeystoreOption",
    "Output",
    "PayOption",
    "PollIntervalOption",
    "RpcUrlOption",
    "SentPayment",
    "SentTx",
    "StoreDirOption",
    "chain_options",
    "connect",
    "connection_callback",
    "noun_app",
    "open_node_store",
    "parse_tokens",
    "resolve_deployment",
    "resolve_rpc_url",
    "run_daemon",
    "run_until_stopped",
    "sent_payment",
    "sent_tx",
    "setup_daemon_logging",
    "short_address",
    "stop_on_signals",
    "token_amount",
    "when",
]
