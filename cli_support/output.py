"""What a command prints: text for people or one JSON document for scripts, errors as one line, and the
one JSON shape of a sent transaction."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, Literal, NoReturn, TypedDict

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from chain import ContractRevert, Payment, TxResult

__all__ = ["Output", "SentPayment", "SentTx", "sent_payment", "sent_tx"]


class SentTx(TypedDict):
    """A mined transaction in every command's `--json`; a reverted one is an error, never a `SentTx`."""

    tx_hash: str
    block: int
    gas_used: int
    status: Literal["success"]


def sent_tx(tx: TxResult) -> SentTx:
    return {"tx_hash": tx.tx_hash, "block": tx.block_number, "gas_used": tx.gas_used, "status": "success"}


class SentPayment(TypedDict):
    """How a payment to the market was allowed, in `--json`: `method` is `allowance`, `permit` or `approve`;
    `amount` in base units; `approval` the approve transaction, when one was sent."""

    method: str
    amount: str
    approval: SentTx | None


def sent_payment(payment: Payment) -> SentPayment:
    approval = sent_tx(payment.approval) if payment.approval is not None else None
    return {"method": str(payment.method), "amount": str(payment.amount), "approval": approval}


class Output:
    """Text for people, or one JSON document for scripts; errors as one line and exit status 1."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False)
        self.errors = Console(stderr=True, highlight=False)

    def emit(self, payload: dict[str, Any], text: str) -> None:
        if self.as_json:
            typer.echo(json.dumps(payload, indent=2, sort_keys=True))
        else:
            self.console.print(text, markup=False)

    def fail(self, exc: BaseException) -> NoReturn:
        message = exc.message if isinstance(exc, ContractRevert) else str(exc)
        message = " ".join(message.split())  # one line, whatever the source
        if self.as_json:
            typer.echo(json.dumps({"error": type(exc).__name__, "message": message}))
        else:
            self.errors.print(f"error: {message}", markup=False)
        raise typer.Exit(1)

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[None]:
        """A spinner on stderr while a long step runs (not with --json, not without a terminal)."""
        if self.as_json or not sys.stderr.isatty():
            yield
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=self.errors, transient=True) as bar:
            bar.add_task(description, total=None)
            yield
