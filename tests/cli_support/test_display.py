"""Amounts, addresses and times for people, amounts typed by them, and the revert sentences' same wording."""

from __future__ import annotations

import pytest

from chain import describe, tokens
from cli_support import parse_tokens, short_address, token_amount, when

PROVIDER = "0xAbCdEF0123456789aBCDef0123456789ABcDEfCd"


def test_formatting_helpers() -> None:
    assert token_amount(tokens("0.25")) == "0.25 CROWD"
    assert token_amount(0) == "0 CROWD"
    assert token_amount(tokens(50), "") == "50 "
    assert short_address(PROVIDER) == "0xAbCd…EfCd"
    assert short_address("validator-3") == "validator-3"
    assert when(1_795_428_000) == "2026-11-23 10:00:00 UTC"


@pytest.mark.parametrize("amount", [0, 1, tokens("0.25"), tokens(100), tokens(999_999), 2**96 - 1])
def test_revert_sentences_word_amounts_and_addresses_as_the_commands_do(amount: int) -> None:
    sentence = describe("InsufficientFreeStake", {"account": PROVIDER, "available": amount, "required": 1})
    assert sentence.startswith(f"{short_address(PROVIDER)} has {token_amount(amount)} of free stake")


def test_parse_tokens_reads_whole_tokens() -> None:
    assert parse_tokens("12.5") == tokens("12.5")
    assert parse_tokens("0", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ten", "--stake 'ten' is not a number of tokens"),
        ("-3", "--stake must be > 0 tokens, got -3"),
        ("0", "--stake must be > 0 tokens, got 0"),
        ("0.0000000000000000001", "--stake has more than 18 decimals"),
        ("1e40", "--stake 1e40 is more than any stake or price can be (a uint96)"),
    ],
)
def test_parse_tokens_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_tokens(text, what="--stake")
    assert str(refused.value) == message
