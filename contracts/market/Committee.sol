// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MAX_COMMITTEE_SIZE} from "./Types.sol";

/// @title Committee draw from a job's challenge seed
/// @notice A committee of `k` slots picks `k` distinct positions in the validator list (`n` entries, `k <= n`):
/// slot `j` starts at `uint256(keccak256(abi.encode(seed, j))) % n` and probes forward (`+1 mod n`) past
/// positions taken by slots `0..j-1`. `chain/committee.py` mirrors this draw.
library Committee {
    /// @notice The largest committee (the vote masks in a job's word have one bit per slot).
    uint256 internal constant MAX_SIZE = MAX_COMMITTEE_SIZE;

    /// @notice The positions of slots `0..size-1`.
    /// @dev Requirements (callers guarantee): `size <= MAX_SIZE`, `size <= n`, and `n > 0` when `size > 0`.
    function draw(bytes32 seed, uint256 size, uint256 n) internal pure returns (uint256[] memory positions) {
        positions = new uint256[](size);
        for (uint256 j; j < size; ++j) {
            positions[j] = _probe(positions, j, _start(seed, j, n), n);
        }
    }

    /// @notice The position of slot `slot` alone (still draws the slots before it, which it must avoid).
    /// @dev Requirements (callers guarantee): `slot < MAX_SIZE` and `slot < n`.
    function positionAt(bytes32 seed, uint256 slot, uint256 n) internal pure returns (uint256) {
        return draw(seed, slot + 1, n)[slot];
    }

    /// @dev `uint256(keccak256(abi.encode(seed, j))) % n`, hashed in scratch space.
    function _start(bytes32 seed, uint256 j, uint256 n) private pure returns (uint256 position) {
        assembly ("memory-safe") {
            mstore(0x00, seed)
            mstore(0x20, j)
            position := mod(keccak256(0x00, 0x40), n)
        }
    }

    /// @dev Steps forward from `position` until it is not among `taken[0..count)`. Terminates because
    /// `count < n`: at least one position is free.
    function _probe(uint256[] memory taken, uint256 count, uint256 position, uint256 n) private pure returns (uint256) {
        for (uint256 i; i < count;) {
            if (taken[i] == position) {
                position = position + 1 == n ? 0 : position + 1;
                i = 0; // the new position must be checked against every earlier slot again
            } else {
                ++i;
            }
        }
        return position;
    }
}
