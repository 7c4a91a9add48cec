// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Committee} from "../../../contracts/market/Committee.sol";
import {Test} from "../utils/Test.sol";

/// @notice The committee draw, checked against a straightforward reference written from the specification.
contract CommitteeTest is Test {
    function test_draw_matchesReferenceForKnownSeed() public pure {
        bytes32 seed = keccak256("seed");
        uint256[] memory drawn = Committee.draw(seed, 5, 7);
        uint256[] memory expected = _reference(seed, 5, 7);
        for (uint256 slot; slot < 5; ++slot) {
            assertEq(drawn[slot], expected[slot], "position");
        }
    }

    function test_draw_probesForwardPastTakenPositions() public pure {
        // Find a seed whose slot 1 starts where slot 0 landed, in a list of 3.
        bytes32 seed;
        for (uint256 i;; ++i) {
            seed = bytes32(i);
            if (_start(seed, 0, 3) == _start(seed, 1, 3)) break;
        }
        uint256[] memory drawn = Committee.draw(seed, 2, 3);
        assertEq(drawn[1], (drawn[0] + 1) % 3, "next free position");
    }

    function test_draw_fullCommitteeCoversTheWholeList() public pure {
        // Later slots keep probing (wrapping past the last index) until each finds the one position left.
        uint256[] memory drawn = Committee.draw(keccak256("wrap"), 4, 4);
        bool[4] memory seen;
        for (uint256 slot; slot < 4; ++slot) {
            seen[drawn[slot]] = true;
        }
        assertTrue(seen[0] && seen[1] && seen[2] && seen[3], "a full committee covers the list");
    }

    function test_draw_returnsEmptyCommitteeForSizeZero() public pure {
        assertEq(Committee.draw(keccak256("x"), 0, 0).length, 0, "empty");
    }

    function testFuzz_draw_returnsDistinctPositionsInRange(bytes32 seed, uint8 size, uint16 validators) public pure {
        uint256 n = uint256(validators) % 300 + 1;
        uint256 k = uint256(size) % (Committee.MAX_SIZE + 1);
        if (k > n) k = n;
        uint256[] memory drawn = Committee.draw(seed, k, n);
        uint256[] memory expected = _reference(seed, k, n);
        for (uint256 slot; slot < k; ++slot) {
            assertTrue(drawn[slot] < n, "in range");
            assertEq(drawn[slot], expected[slot], "matches reference");
            for (uint256 earlier; earlier < slot; ++earlier) {
                assertTrue(drawn[earlier] != drawn[slot], "distinct");
            }
        }
    }

    function testFuzz_positionAt_matchesDraw(bytes32 seed, uint8 slot, uint16 validators) public pure {
        uint256 n = uint256(validators) % 50 + Committee.MAX_SIZE;
        uint256 s = uint256(slot) % Committee.MAX_SIZE;
        assertEq(Committee.positionAt(seed, s, n), Committee.draw(seed, s + 1, n)[s], "same position");
    }

    /// @dev The specification, literally: start at keccak(seed, j) % n, step +1 while taken.
    function _reference(bytes32 seed, uint256 k, uint256 n) private pure returns (uint256[] memory positions) {
        positions = new uint256[](k);
        bool[] memory taken = new bool[](n);
        for (uint256 j; j < k; ++j) {
            uint256 position = _start(seed, j, n);
            while (taken[position]) position = (position + 1) % n;
            taken[position] = true;
            positions[j] = position;
        }
    }

    function _start(bytes32 seed, uint256 j, uint256 n) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, j))) % n;
    }
}
