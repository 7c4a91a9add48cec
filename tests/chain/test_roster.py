"""The roster mirror: the same root as the contract, proofs the contract accepts, seats by stake."""

from __future__ import annotations

import random

import pytest

from chain.roster import CAPACITY, Roster, RosterError, seat_position, sum_of, verify

A = "0x000000000000000000000000000000000000A11C"
B = "0x0000000000000000000000000000000000000B0B"
C = "0x0000000000000000000000000000000000000C0C"
D = "0x0000000000000000000000000000000000000D0d"


def test_golden_root_matches_the_contract() -> None:
    # The same steps as tests/contracts/market/Roster.t.sol::test_goldenScenario_matchesPythonMirror.
    roster = Roster()
    assert [roster.insert(A, 5 * 10**18), roster.insert(B, 3 * 10**18), roster.insert(C, 7 * 10**18)] == [
        0,
        1,
        2,
    ]
    roster.remove(1)
    assert roster.insert(D, 2 * 10**18) == 1
    roster.set(2, C, 10**18)
    assert roster.root.hex() == "3d448e0e27637e7eb96f39f3cd7a9aeaaae84cde000000006f05b59d3b200000"
    assert roster.total == 8 * 10**18


def test_empty_roster_has_zero_root_and_no_seats() -> None:
    roster = Roster()
    assert roster.root == bytes(32)
    with pytest.raises(RosterError, match="empty"):
        roster.seat(bytes(32), 0)


def test_random_updates_keep_every_proof_exact() -> None:
    rng = random.Random(7)
    roster = Roster()
    live: dict[int, tuple[str, int]] = {}
    for _ in range(200):
        action = rng.randrange(3)
        if action == 0 or not live:
            owner = "0x" + rng.randbytes(20).hex()
            weight = rng.randrange(1, 10**24)
            live[roster.insert(owner, weight)] = (owner, weight)
        elif action == 1:
            index = rng.choice(sorted(live))
            weight = rng.randrange(1, 10**24)
            roster.set(index, live[index][0], weight)
            live[index] = (live[index][0], weight)
        else:
            index = rng.choice(sorted(live))
            roster.remove(index)
            del live[index]
    left = 0
    for index in sorted(live):
        owner, weight = live[index]
        assert verify(roster.root, index, owner, weight, roster.proof(index)) == left
        assert verify(roster.root, index, owner, weight + 1, roster.proof(index)) is None
        left += weight
    assert roster.total == left == sum_of(roster.root)


def test_seat_is_the_leaf_whose_interval_holds_the_position() -> None:
    roster = Roster()
    roster.insert(A, 1)
    roster.insert(B, 6)
    roster.insert(C, 2)
    counts = [0, 0, 0]
    for i in range(900):
        seed = i.to_bytes(32, "big")
        proof = roster.seat(seed, 0)
        offset = verify(
            roster.root, proof.member.index, proof.member.validator, proof.member.weight, proof.siblings
        )
        assert offset is not None
        assert offset <= seat_position(seed, 0, roster.total) < offset + proof.member.weight
        counts[proof.member.index] += 1
    # 100 / 600 / 200 expected; the draw follows stake, not list neighbours.
    assert abs(counts[0] - 100) < 50 and abs(counts[1] - 600) < 75 and abs(counts[2] - 200) < 65


def test_full_roster_refuses_and_reuses_freed_leaves() -> None:
    roster = Roster()
    for i in range(CAPACITY):
        roster.insert(f"0x{i + 1:040x}", 1)
    with pytest.raises(RosterError, match="full"):
        roster.insert(A, 1)
    roster.remove(7)
    assert roster.insert(A, 1) == 7
