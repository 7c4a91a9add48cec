"""Behaviour the generated struct views inherit (`chain/generated/job_layout.py` names these mixins).

Each mixin declares only the fields it reads; the generated dataclass defines them all.
"""

from __future__ import annotations

from chain.primitives import Wei


class JobSpecMethods:
    budget: Wei
    committee_size: int
    validator_fee: Wei

    @property
    def escrow(self) -> Wei:
        """What the requester pays at post: the budget plus every committee member's fee."""
        return Wei(self.budget + self.committee_size * self.validator_fee)


class AccountMethods:
    stake: Wei
    locked: Wei

    @property
    def free_stake(self) -> Wei:
        """Stake not locked as collateral for a job."""
        return Wei(self.stake - self.locked)
