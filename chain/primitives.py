"""Types that carry meaning (`JobId`, `Wei`, ...), the zero values, and token amounts.

Nothing here imports the rest of `chain`, so the generated job layout can build on it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NewType

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

JobId = NewType("JobId", int)
Wei = NewType("Wei", int)
BlockNumber = NewType("BlockNumber", int)
Bytes32 = NewType("Bytes32", bytes)
TxHash = NewType("TxHash", str)

ZERO_ADDRESS = ChecksumAddress(to_checksum_address("0x" + "00" * 20))
ZERO_BYTES32 = Bytes32(b"\x00" * 32)
TOKEN_DECIMALS = 18
DEV_CHAIN_IDS = frozenset({31337, 1337})


def tokens(amount: int | float | str) -> Wei:
    """Whole tokens to the smallest unit (18 decimals): `tokens(50)` is 50 CROWD."""
    return Wei(int(Decimal(str(amount)) * 10**TOKEN_DECIMALS))
