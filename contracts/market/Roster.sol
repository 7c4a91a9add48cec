// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ROSTER_DEPTH} from "./Types.sol";

/// @title The live validator roster: a Merkle-sum tree of bonded stake
/// @notice Each live validator holds one leaf; a leaf carries the validator's address and its drawable weight
/// (its bonded stake). Every node is one word: the upper 160 bits of a hash, and in the low 96 bits the sum of the
/// weights below it, so the root alone fixes both who is live and how much each weighs.
/// A job snapshots the root when its result is submitted. Its committee is drawn from that snapshot: seat `j` is the
/// leaf whose weight interval `[offset, offset + weight)` holds `uint256(keccak256(abi.encode(seed, j))) % total`
/// (by stake, with replacement, no neighbour bias). A seat is proven with the leaf's `ROSTER_DEPTH` siblings in
/// calldata: no storage read, and no later stake change (joining just in time, leaving after the draw) can move a
/// seat, because the snapshot does not change. `chain/roster.py` mirrors this tree.
/// @dev Nodes are kept in heap order (root 1, leaves from `CAPACITY`); an empty subtree is the zero word, so the
/// tree starts empty at no cost. Proofs have a fixed length, so a node can never pass for a leaf. 160 hash bits
/// leave 2^160 work to forge a leaf under a given root.
library Roster {
    /// @notice Levels between a leaf and the root.
    uint256 internal constant DEPTH = ROSTER_DEPTH;

    /// @notice How many validators can be live at once.
    uint256 internal constant CAPACITY = 1 << DEPTH;

    uint256 private constant SUM_MASK = type(uint96).max;
    uint256 private constant HASH_MASK = ~SUM_MASK;

    /// @dev The tree, and the leaves that were used and freed again (reused before fresh ones).
    struct Tree {
        mapping(uint256 node => bytes32 word) nodes;
        mapping(uint256 position => uint256 index) freed;
        uint128 used; // leaves ever handed out: fresh indices start here
        uint128 freedCount; // entries on the `freed` stack
    }

    /// @notice No leaf is free: `CAPACITY` validators are live.
    error RosterFull(uint256 capacity);

    // ------------------------------------------------------------------ updates

    /// @notice Gives `validator` a leaf with `weight` (> 0); returns its index.
    function insert(Tree storage tree, address validator, uint96 weight) internal returns (uint256 index) {
        uint256 freedCount = tree.freedCount;
        if (freedCount != 0) {
            // freedCount > 0
            unchecked {
                index = tree.freed[freedCount - 1];
                tree.freedCount = uint128(freedCount - 1);
            }
        } else {
            index = tree.used;
            if (index == CAPACITY) revert RosterFull(CAPACITY);
            // index < CAPACITY, a small constant
            unchecked {
                tree.used = uint128(index + 1);
            }
        }
        _setLeaf(tree, index, leaf(validator, weight));
    }

    /// @notice Sets the weight of the leaf at `index` (held by `validator`) to `weight` (> 0).
    function update(Tree storage tree, uint256 index, address validator, uint96 weight) internal {
        _setLeaf(tree, index, leaf(validator, weight));
    }

    /// @notice Empties the leaf at `index`; a later `insert` reuses it.
    function remove(Tree storage tree, uint256 index) internal {
        _setLeaf(tree, index, 0);
        uint256 freedCount = tree.freedCount;
        tree.freed[freedCount] = index;
        // at most CAPACITY leaves are ever freed at once
        unchecked {
            tree.freedCount = uint128(freedCount + 1);
        }
    }

    // ------------------------------------------------------------------ reads

    /// @notice The root word: hash bits and, in the low 96 bits, the total live weight.
    function root(Tree storage tree) internal view returns (bytes32) {
        return tree.nodes[1];
    }

    /// @notice How many leaves are live.
    function live(Tree storage tree) internal view returns (uint256) {
        return tree.used - tree.freedCount;
    }

    /// @notice The stored word of node `node` (heap order; leaves at `CAPACITY + index`).
    function nodeAt(Tree storage tree, uint256 node) internal view returns (bytes32) {
        return tree.nodes[node];
    }

    // ------------------------------------------------------------------ pure: words, proofs and the draw

    /// @notice The weight sum a node word carries.
    function sumOf(bytes32 word) internal pure returns (uint256) {
        return uint256(word) & SUM_MASK;
    }

    /// @notice A leaf word: `keccak256(abi.encode(validator, weight))`'s upper 160 bits and `weight`; zero for no
    /// weight.
    function leaf(address validator, uint96 weight) internal pure returns (bytes32 word) {
        if (weight == 0) return 0;
        assembly ("memory-safe") {
            mstore(0x00, validator)
            mstore(0x20, weight)
            word := or(and(keccak256(0x00, 0x40), not(0xffffffffffffffffffffffff)), weight)
        }
    }

    /// @notice The parent of two node words: zero over two empty subtrees, else the upper 160 bits of
    /// `keccak256(abi.encode(left, right))` and the sum of both sums.
    /// @dev Sums stay below 2^96: they add stakes, and the whole token supply fits in 96 bits.
    function parent(bytes32 left, bytes32 right) internal pure returns (bytes32 word) {
        if (left == 0 && right == 0) return 0;
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            let mask := 0xffffffffffffffffffffffff
            word := or(and(keccak256(0x00, 0x40), not(mask)), add(and(left, mask), and(right, mask)))
        }
    }

    /// @notice Checks that `validator` with `weight` is the leaf at `index` under `rootWord`, given the leaf's
    /// `DEPTH` siblings from the bottom up; returns whether it is, and the weight of every leaf left of it.
    function verify(bytes32 rootWord, uint256 index, address validator, uint96 weight, bytes32[DEPTH] calldata siblings)
        internal
        pure
        returns (bool valid, uint256 offset)
    {
        if (index >= CAPACITY || weight == 0) return (false, 0);
        bytes32 node = leaf(validator, weight);
        for (uint256 level; level < DEPTH; ++level) {
            bytes32 sibling = siblings[level];
            if ((index >> level) & 1 == 1) {
                offset += sumOf(sibling);
                node = parent(sibling, node);
            } else {
                node = parent(node, sibling);
            }
        }
        valid = node == rootWord;
    }

    /// @notice Where seat `seat` falls in a total weight of `total` (> 0): a uniform position in `[0, total)`.
    function seatPosition(bytes32 seed, uint256 seat, uint256 total) internal pure returns (uint256 position) {
        assembly ("memory-safe") {
            mstore(0x00, seed)
            mstore(0x20, seat)
            position := mod(keccak256(0x00, 0x40), total)
        }
    }

    /// @notice Whether the proven leaf (`offset`, `weight`) holds seat `seat` under a root of total weight `total`.
    function holdsSeat(bytes32 seed, uint256 seat, uint256 total, uint256 offset, uint256 weight)
        internal
        pure
        returns (bool)
    {
        uint256 position = seatPosition(seed, seat, total);
        return position >= offset && position - offset < weight;
    }

    // ------------------------------------------------------------------ private

    /// @dev Writes a leaf and rehashes its path to the root.
    function _setLeaf(Tree storage tree, uint256 index, bytes32 word) private {
        uint256 node = CAPACITY + index;
        tree.nodes[node] = word;
        for (uint256 level; level < DEPTH; ++level) {
            // the other child of the same parent: node + 1 for a left child, node - 1 for a right one
            bytes32 sibling = tree.nodes[node & 1 == 0 ? node + 1 : node - 1];
            word = node & 1 == 0 ? parent(word, sibling) : parent(sibling, word);
            node >>= 1;
            tree.nodes[node] = word;
        }
    }
}
