"""Whether this node's stake can back its votes. A vote counts only if, when the round's votes are revealed,
the holder's free stake (stake less the seat bonds it has locked for other jobs) can lock the seat's bond
(`chain.seat_bond`) until the job settles. An unbacked vote does not count: it keeps a majority from
forming, like a silent seat, and pays the bond from what the node has free, then unbonding, only if it ends
on the losing side. The node still signs it (a silent seat always pays); it says so, with the fix.
"""

from __future__ import annotations

from cli_support import token_amount

__all__ = ["backed_seats", "unbacked_warning"]


def backed_seats(free_stake: int, bond: int, seats: int) -> int:
    """How many of `seats` seats, each with `bond`, a free stake of `free_stake` backs."""
    if bond <= 0:
        return seats
    return min(seats, max(free_stake, 0) // bond)


def unbacked_warning(job_id: int, free_stake: int, bond: int, seats: int) -> str | None:
    """The warning to log when `free_stake` cannot back every one of this node's `seats` (None if it can)."""
    backed = backed_seats(free_stake, bond, seats)
    if backed == seats:
        return None
    return (
        f"job {job_id}: this node holds {seats} seat(s) with a bond of {token_amount(bond)} each, but its "
        f"free stake of {token_amount(free_stake)} backs {backed}: the other vote(s) will not count (they "
        "block a majority like silence, and pay the bond only if they end on the losing side). Stake more "
        "with `crowdcompute validator register --stake TOKENS`, or expect to sit out jobs this size"
    )
