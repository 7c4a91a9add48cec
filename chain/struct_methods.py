"""Behaviour the generated struct views inherit (`chain/generated/job_layout.py` names these mixins).

Each mixin declares only the fields it reads; the generated dataclass defines them all.
"""

from __future__ import annotations

import dataclasses
from typing import Self

from chain.primitives import Wei

BPS = 10_000


def protocol_fee_for(budget: int, fee_bps: int) -> Wei:
    """The protocol fee the market records at post: `ceil(budget * fee_bps / 10_000)`."""
    return Wei(-(-budget * fee_bps // BPS))


def reward_for(budget: int, reward_bps: int) -> Wei:
    """The reward a verified job earns: `floor(budget * reward_bps / 10_000)` (before the emission caps)."""
    return Wei(budget * reward_bps // BPS)


def min_collateral_for(budget: int, min_collateral_bps: int) -> Wei:
    """The least collateral the market accepts by the ratio: `floor(budget * min_collateral_bps / 10_000)`."""
    return Wei(budget * min_collateral_bps // BPS)


class JobSpecMethods:
    budget: Wei
    protocol_fee: Wei
    committee_size: int
    validator_fee: Wei

    def with_protocol_fee(self, fee_bps: int) -> Self:
        """This spec with the protocol fee the market will record at `fee_bps` (the contract sets the field; a
        client fills it in beforehand so that `escrow` is what the post pulls)."""
        return dataclasses.replace(self, protocol_fee=protocol_fee_for(self.budget, fee_bps))  # type: ignore[type-var]

    @property
    def escrow(self) -> Wei:
        """What the requester pays at post: the budget, the protocol fee and every committee member's fee."""
        return Wei(self.budget + self.protocol_fee + self.committee_size * self.validator_fee)


class AccountMethods:
    stake: Wei
    locked: Wei

    @property
    def free_stake(self) -> Wei:
        """Stake not locked as collateral for a job."""
        return Wei(self.stake - self.locked)
