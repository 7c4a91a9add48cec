"""Whether a validator's free stake backs its votes (`validator.backing`): a vote counts only if its seat's
bond can be locked from the holder's free stake when the votes are revealed."""

from __future__ import annotations

from chain import tokens
from validator.backing import backed_seats, unbacked_warning


def test_each_seat_needs_its_own_bond() -> None:
    assert backed_seats(tokens(10), tokens(5), 2) == 2
    assert backed_seats(tokens(9), tokens(5), 2) == 1
    assert backed_seats(tokens(4), tokens(5), 1) == 0
    assert backed_seats(tokens(100), tokens(5), 3) == 3  # never more than the seats held
    assert backed_seats(-1, tokens(5), 1) == 0


def test_the_warning_names_the_bond_the_stake_and_the_fix_only_when_a_seat_is_unbacked() -> None:
    assert unbacked_warning(7, tokens(10), tokens(5), 2) is None
    warning = unbacked_warning(7, tokens(9), tokens(5), 2)
    assert warning is not None
    assert warning.startswith("job 7: this node holds 2 seat(s) with a bond of 5")
    assert "backs 1" in warning and "will not count" in warning
    assert "crowdcompute validator register --stake TOKENS" in warning
