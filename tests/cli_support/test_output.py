"""What commands print: the one JSON shape of a sent transaction, one JSON document, one error line."""

from __future__ import annotations

import json

import pytest
import typer

from chain import BlockNumber, ContractRevert, TxHash, TxResult, Wei
from cli_support import Output, sent_tx

TX = TxResult(TxHash("0x" + "ab" * 32), BlockNumber(12), 51_000, Wei(7))


def test_a_sent_transaction_has_one_shape() -> None:
    assert sent_tx(TX) == {"tx_hash": "0x" + "ab" * 32, "block": 12, "gas_used": 51_000, "status": "success"}
    assert json.loads(json.dumps(sent_tx(TX))) == sent_tx(TX)


def test_json_output_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    Output(as_json=True).emit({"b": 1, "a": {"tx": sent_tx(TX)}}, "text for people")
    printed = capsys.readouterr().out
    assert json.loads(printed) == {"a": {"tx": sent_tx(TX)}, "b": 1}
    Output(as_json=False).emit({"b": 1}, "text for people")
    assert capsys.readouterr().out == "text for people\n"


def test_an_error_is_one_line_and_exit_status_one(capsys: pytest.CaptureFixture[str]) -> None:
    revert = ContractRevert("NothingToWithdraw", {}, "0xAbCd…EfCd has no balance\n or reward", data=b"")
    with pytest.raises(typer.Exit) as exited:
        Output(as_json=True).fail(revert)
    assert exited.value.exit_code == 1
    assert json.loads(capsys.readouterr().out) == {
        "error": "ContractRevert",
        "message": "0xAbCd…EfCd has no balance or reward",
    }
    with pytest.raises(typer.Exit):
        Output(as_json=False).fail(ValueError("--stake must be > 0 tokens"))
    assert capsys.readouterr().err == "error: --stake must be > 0 tokens\n"
