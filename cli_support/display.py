"""Amounts, addresses and times as people read and type them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from chain import TOKEN_DECIMALS, Wei

__all__ = ["parse_tokens", "short_address", "token_amount", "when"]

_UINT96 = 2**96 - 1


def short_address(address: Any) -> str:
    """`0xAbCd…EfCd` for a 20-byte address; anything else unchanged."""
    text = str(address)
    return f"{text[:6]}…{text[-4:]}" if len(text) == 42 else text


def token_amount(wei: Any, symbol: str = "CROWD") -> str:
    """18-decimal units as whole tokens: 50 CROWD, 0.25 CROWD."""
    value = Decimal(int(wei)) / Decimal(10**TOKEN_DECIMALS)
    text = format(value.normalize(), "f") if value else "0"
    return f"{text} {symbol}"


def parse_tokens(text: str, *, what: str = "amount", allow_zero: bool = False) -> Wei:
    """Whole tokens (decimals allowed, e.g. `12.5`) to base units; `ValueError` names what is wrong."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number of tokens") from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'>= 0' if allow_zero else '> 0'} tokens, got {text}")
    units = value.scaleb(TOKEN_DECIMALS)
    if units != units.to_integral_value():
        raise ValueError(f"{what} has more than {TOKEN_DECIMALS} decimals")
    if units > _UINT96:
        raise ValueError(f"{what} {text} is more than any stake or price can be (a uint96)")
    return Wei(int(units))


def when(timestamp: int) -> str:
    """A chain timestamp for people: `2026-11-23 10:00:00 UTC`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
