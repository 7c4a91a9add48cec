"""The live validator roster, mirrored from `contracts/market/Roster.sol`: a Merkle-sum tree of bonded stake.

Every node is one 32-byte word: the upper 160 bits of a keccak hash and, in the low 96 bits, the sum of
the weights below it. A leaf is `keccak256(abi.encode(validator, weight))`'s upper bits with the weight; a
parent is `keccak256(left ++ right)`'s upper bits with the two sums added; an empty subtree is the zero word.
A job keeps the root it was submitted under; its committee seat `j` is the leaf whose weight interval holds
`keccak256(abi.encode(seed, j)) % total`, proven by the leaf's `ROSTER_DEPTH` siblings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from chain.generated.job_layout import ROSTER_DEPTH

CAPACITY = 1 << ROSTER_DEPTH
_SUM_BITS = 96
_SUM_MASK = (1 << _SUM_BITS) - 1
_HASH_MASK = ((1 << 256) - 1) ^ _SUM_MASK
ZERO = bytes(32)


def sum_of(word: bytes) -> int:
    """The weight sum a node word carries."""
    return int.from_bytes(word, "big") & _SUM_MASK


def leaf_word(validator: str, weight: int) -> bytes:
    """A leaf's word (zero for no weight)."""
    if weight == 0:
        return ZERO
    digest = int.from_bytes(keccak(abi_encode(["address", "uint96"], [validator, weight])), "big")
    return ((digest & _HASH_MASK) | weight).to_bytes(32, "big")


def parent_word(left: bytes, right: bytes) -> bytes:
    """The parent of two node words (zero over two empty subtrees)."""
    if left == ZERO and right == ZERO:
        return ZERO
    digest = int.from_bytes(keccak(left + right), "big")
    return ((digest & _HASH_MASK) | (sum_of(left) + sum_of(right))).to_bytes(32, "big")


def seat_position(seed: bytes, seat: int, total: int) -> int:
    """Where seat `seat` falls in a total weight `total`: uniform in `[0, total)`."""
    return int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [seed, seat])), "big") % total


@dataclass(frozen=True)
class Member:
    """A live validator's leaf."""

    index: int
    validator: str
    weight: int


@dataclass(frozen=True)
class SeatProof:
    """What proves that `member` holds a seat under a root: its leaf and the leaf's siblings, bottom up."""

    seat: int
    member: Member
    siblings: tuple[bytes, ...]


class RosterError(ValueError):
    """A roster operation the contract would refuse (no such leaf, full roster, empty roster)."""


class Roster:
    """The tree as the contract holds it, rebuilt from `ValidatorWeightChanged`-style updates.

    Indices are handed out as the contract does: the most recently freed index first, else a fresh one.
    """

    def __init__(self) -> None:
        self._leaves: dict[int, Member] = {}
        self._freed: list[int] = []
        self._used = 0
        self._levels: list[dict[int, bytes]] | None = None

    # ------------------------------------------------------------------ updates

    def insert(self, validator: str, weight: int) -> int:
        """Gives `validator` a leaf; returns its index."""
        if weight <= 0:
            raise RosterError("a live validator needs a positive weight")
        if self._freed:
            index = self._freed.pop()
        elif self._used == CAPACITY:
            raise RosterError(f"the roster is full ({CAPACITY} live validators)")
        else:
            index = self._used
            self._used += 1
        self.set(index, validator, weight)
        return index

    def set(self, index: int, validator: str, weight: int) -> None:
        """Sets the leaf at `index` (an event replayed as the contract applied it)."""
        if not 0 <= index < CAPACITY:
            raise RosterError(f"leaf index {index} is outside the roster (0..{CAPACITY - 1})")
        if weight == 0:
            self._leaves.pop(index, None)
        else:
            self._leaves[index] = Member(index, to_checksum_address(validator), weight)
        self._levels = None

    def remove(self, index: int) -> None:
        """Empties the leaf at `index`; the next `insert` reuses it."""
        if index not in self._leaves:
            raise RosterError(f"leaf {index} is empty")
        self.set(index, self._leaves[index].validator, 0)
        self._freed.append(index)

    # ------------------------------------------------------------------ reads

    def members(self) -> Iterator[Member]:
        """The live leaves in index order."""
        return (self._leaves[i] for i in sorted(self._leaves))

    def member_at(self, index: int) -> Member | None:
        return self._leaves.get(index)

    @property
    def total(self) -> int:
        return sum_of(self.root)

    @property
    def root(self) -> bytes:
        return self._tree()[ROSTER_DEPTH].get(0, ZERO)

    def proof(self, index: int) -> tuple[bytes, ...]:
        """The siblings of leaf `index`, bottom up."""
        levels = self._tree()
        return tuple(levels[level].get((index >> level) ^ 1, ZERO) for level in range(ROSTER_DEPTH))

    def locate(self, position: int) -> Member:
        """The leaf whose weight interval holds `position` (walking down by the sums)."""
        if not 0 <= position < self.total:
            raise RosterError(f"position {position} is outside the roster's weight (0..{self.total - 1})")
        levels = self._tree()
        node = 0
        for level in range(ROSTER_DEPTH - 1, -1, -1):
            left = sum_of(levels[level].get(node * 2, ZERO))
            if position < left:
                node = node * 2
            else:
                position -= left
                node = node * 2 + 1
        return self._leaves[node]

    def seat(self, seed: bytes, seat: int) -> SeatProof:
        """Who holds seat `seat` for `seed` under the current root, with its proof."""
        total = self.total
        if total == 0:
            raise RosterError("the roster is empty: no seat can be drawn")
        member = self.locate(seat_position(seed, seat, total))
        return SeatProof(seat, member, self.proof(member.index))

    def committee(self, seed: bytes, size: int) -> list[SeatProof]:
        """Seats `0..size-1` (drawn by stake, with replacement)."""
        return [self.seat(seed, seat) for seat in range(size)]

    # ------------------------------------------------------------------ private

    def _tree(self) -> list[dict[int, bytes]]:
        """Every non-empty node, level by level from the leaves (level 0) to the root (level DEPTH)."""
        if self._levels is None:
            level: dict[int, bytes] = {
                index: leaf_word(member.validator, member.weight) for index, member in self._leaves.items()
            }
            levels = [level]
            for _ in range(ROSTER_DEPTH):
                parents: dict[int, bytes] = {}
                for node in {index >> 1 for index in level}:
                    word = parent_word(level.get(node * 2, ZERO), level.get(node * 2 + 1, ZERO))
                    if word != ZERO:
                        parents[node] = word
                level = parents
                levels.append(level)
            self._levels = levels
        return self._levels


def verify(root: bytes, index: int, validator: str, weight: int, siblings: tuple[bytes, ...]) -> int | None:
    """The weight left of the proven leaf, or None when the proof does not lead to `root`."""
    if len(siblings) != ROSTER_DEPTH or not 0 <= index < CAPACITY or weight == 0:
        return None
    node = leaf_word(validator, weight)
    offset = 0
    for level, sibling in enumerate(siblings):
        if (index >> level) & 1:
            offset += sum_of(sibling)
            node = parent_word(sibling, node)
        else:
            node = parent_word(node, sibling)
    return offset if node == root else None


class RosterFeed:
    """The roster rebuilt from the market's `ValidatorWeightChanged` events, fetched incrementally.

    `at(root, up_to_block)` answers the roster a job was submitted under: the events up to the submission
    block, cut where the rebuilt root equals the job's snapshot (a later transaction in the same block may
    have changed the roster after the submission).
    """

    def __init__(self, reader: EventReaderLike) -> None:
        self._reader = reader
        self._events: list[WeightChange] = []

    def _catch_up(self, up_to_block: int) -> None:
        while self._reader.next_block <= up_to_block:
            batch = self._reader.poll()
            for event in batch.events:
                self._events.append(
                    WeightChange(
                        (event.block_number, event.log_index),
                        event.args["validator"],
                        int(event.args["leaf"]),
                        int(event.args["weight"]),
                    )
                )
            if batch.empty_range:
                break

    def at(self, root: bytes, up_to_block: int) -> Roster:
        """The roster whose root is `root`, from the events up to `up_to_block`."""
        self._catch_up(up_to_block)
        events = [e for e in self._events if e.position[0] <= up_to_block]
        before = sum(1 for e in events if e.position[0] < up_to_block)
        for cut in range(len(events), before - 1, -1):
            roster = replay(events[:cut])
            if roster.root == root:
                return roster
        raise RosterError(
            f"no roster up to block {up_to_block} has root 0x{root.hex()}:"
            " this node's event history is incomplete (is the deployment block right?)"
        )


@dataclass(frozen=True)
class WeightChange:
    """One `ValidatorWeightChanged` event."""

    position: tuple[int, int]
    validator: str
    leaf: int
    weight: int


def replay(events: list[WeightChange]) -> Roster:
    """The roster after `events`, applied in order."""
    roster = Roster()
    for event in events:
        roster.set(event.leaf, event.validator, event.weight)
    return roster


class EventReaderLike(Protocol):
    next_block: int

    def poll(self, *, commit: bool = True) -> Any: ...
