// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Roster} from "../../../contracts/market/Roster.sol";
import {ROSTER_DEPTH} from "../../../contracts/market/Types.sol";
import {Test} from "../utils/Test.sol";

/// @notice Holds a roster in storage so tests can drive it and read proofs out of it.
contract RosterHarness {
    using Roster for Roster.Tree;

    Roster.Tree private _tree;

    function insert(address validator, uint96 weight) external returns (uint256) {
        return _tree.insert(validator, weight);
    }

    function update(uint256 index, address validator, uint96 weight) external {
        _tree.update(index, validator, weight);
    }

    function remove(uint256 index) external {
        _tree.remove(index);
    }

    function root() external view returns (bytes32) {
        return _tree.root();
    }

    /// @notice The siblings of leaf `index`, bottom up, as a prover reads them from the tree.
    function proof(uint256 index) external view returns (bytes32[ROSTER_DEPTH] memory siblings) {
        uint256 node = Roster.CAPACITY + index;
        for (uint256 level; level < Roster.DEPTH; ++level) {
            siblings[level] = _tree.nodeAt(node ^ 1);
            node >>= 1;
        }
    }

    function verify(
        bytes32 rootWord,
        uint256 index,
        address validator,
        uint96 weight,
        bytes32[ROSTER_DEPTH] calldata siblings
    ) external pure returns (bool, uint256) {
        return Roster.verify(rootWord, index, validator, weight, siblings);
    }

    function verifyGas(
        bytes32 rootWord,
        uint256 index,
        address validator,
        uint96 weight,
        bytes32[ROSTER_DEPTH] calldata siblings
    ) external view returns (uint256 used) {
        used = gasleft();
        Roster.verify(rootWord, index, validator, weight, siblings);
        used -= gasleft();
    }
}

/// @notice The roster tree: updates keep the root equal to a tree built from scratch, proofs verify exactly for
/// live leaves with the weight to their left, and seats fall on leaves in proportion to weight.
contract RosterTest is Test {
    RosterHarness private roster;

    address private constant A = address(0xA11C);
    address private constant B = address(0xB0B);
    address private constant C = address(0xC0C);
    address private constant D = address(0xD0D);

    function setUp() public {
        roster = new RosterHarness();
    }

    function test_emptyRosterHasZeroRoot() public view {
        assertEq(roster.root(), bytes32(0), "empty");
    }

    /// @dev The same steps as `tests/chain/test_roster.py::test_golden_root_matches_the_contract`: both must
    /// arrive at this root, so the Python mirror and the contract agree bit for bit.
    function test_goldenScenario_matchesPythonMirror() public {
        assertEq(roster.insert(A, 5e18), 0, "A at 0");
        assertEq(roster.insert(B, 3e18), 1, "B at 1");
        assertEq(roster.insert(C, 7e18), 2, "C at 2");
        roster.remove(1);
        assertEq(roster.insert(D, 2e18), 1, "D reuses the freed leaf");
        roster.update(2, C, 1e18);
        assertEq(
            roster.root(), bytes32(0x3d448e0e27637e7eb96f39f3cd7a9aeaaae84cde000000006f05b59d3b200000), "golden root"
        );
        assertEq(Roster.sumOf(roster.root()), 8e18, "total weight");
    }

    function test_removingEveryLeafEmptiesTheTree() public {
        roster.insert(A, 1);
        roster.insert(B, 2);
        roster.remove(0);
        roster.remove(1);
        assertEq(roster.root(), bytes32(0), "back to empty");
    }

    function test_proofForWrongWeightOrAddressFails() public {
        roster.insert(A, 5e18);
        roster.insert(B, 3e18);
        bytes32 rootWord = roster.root();
        bytes32[ROSTER_DEPTH] memory siblings = roster.proof(1);
        (bool valid, uint256 offset) = roster.verify(rootWord, 1, B, 3e18, siblings);
        assertTrue(valid, "true leaf");
        assertEq(offset, 5e18, "weight to the left");
        (valid,) = roster.verify(rootWord, 1, B, 4e18, siblings);
        assertTrue(!valid, "inflated weight");
        (valid,) = roster.verify(rootWord, 1, C, 3e18, siblings);
        assertTrue(!valid, "someone else's leaf");
        (valid,) = roster.verify(rootWord, 0, B, 3e18, siblings);
        assertTrue(!valid, "another position");
    }

    function test_staleProofFailsAgainstNewRoot_butHoldsAgainstTheSnapshot() public {
        roster.insert(A, 5e18);
        roster.insert(B, 3e18);
        bytes32 snapshot = roster.root();
        bytes32[ROSTER_DEPTH] memory siblings = roster.proof(1);
        // A joins late with more stake: the snapshot still proves B's seat as it was.
        roster.update(0, A, 50e18);
        (bool valid,) = roster.verify(roster.root(), 1, B, 3e18, siblings);
        assertTrue(!valid, "old proof, new root");
        (valid,) = roster.verify(snapshot, 1, B, 3e18, siblings);
        assertTrue(valid, "old proof, its snapshot");
    }

    function test_rosterFullAtCapacity() public {
        for (uint256 i; i < Roster.CAPACITY; ++i) {
            roster.insert(address(uint160(i + 1)), 1);
        }
        vm.expectRevert(abi.encodeWithSelector(Roster.RosterFull.selector, Roster.CAPACITY));
        roster.insert(A, 1);
        roster.remove(7);
        assertEq(roster.insert(A, 1), 7, "a freed leaf is reused");
        assertEq(Roster.sumOf(roster.root()), Roster.CAPACITY, "total");
    }

    function test_verifyGas_isSmallAndStorageFree() public {
        for (uint256 i; i < 20; ++i) {
            roster.insert(address(uint160(i + 1)), uint96(i + 1) * 1e18);
        }
        bytes32[ROSTER_DEPTH] memory siblings = roster.proof(13);
        uint256 used = roster.verifyGas(roster.root(), 13, address(14), 14e18, siblings);
        assertLe(used, 6_000, "ten parent hashes, no storage");
    }

    /// @notice Random joins, weight changes and leaves, then every live leaf is proven with the exact weight to
    /// its left, and the root's sum is the live total.
    function testFuzz_updatesKeepProofsAndOffsetsExact(uint256 entropy) public {
        uint256 slots = 24;
        uint96[] memory weights = new uint96[](slots);
        address[] memory owners = new address[](slots);
        uint256[] memory freed = new uint256[](slots);
        uint256 freedCount;
        uint256 used;
        for (uint256 step; step < 40; ++step) {
            entropy = uint256(keccak256(abi.encode(entropy, step)));
            uint256 action = entropy % 3;
            uint256 pick = (entropy >> 8) % slots;
            uint96 weight = uint96((entropy >> 32) % 1e24) + 1;
            if (action == 0 && (freedCount != 0 || used < slots)) {
                address owner = address(uint160(uint256(keccak256(abi.encode(entropy)))));
                uint256 index = roster.insert(owner, weight);
                if (freedCount != 0) {
                    assertEq(index, freed[--freedCount], "reuses the last freed leaf");
                } else {
                    assertEq(index, used++, "next fresh leaf");
                }
                weights[index] = weight;
                owners[index] = owner;
            } else if (action == 1 && weights[pick] != 0) {
                roster.update(pick, owners[pick], weight);
                weights[pick] = weight;
            } else if (action == 2 && weights[pick] != 0) {
                roster.remove(pick);
                weights[pick] = 0;
                freed[freedCount++] = pick;
            }
        }

        bytes32 rootWord = roster.root();
        uint256 left;
        for (uint256 index; index < slots; ++index) {
            if (weights[index] == 0) continue;
            (bool valid, uint256 offset) =
                roster.verify(rootWord, index, owners[index], weights[index], roster.proof(index));
            assertTrue(valid, "live leaf proves");
            assertEq(offset, left, "weight to the left");
            left += weights[index];
        }
        assertEq(Roster.sumOf(rootWord), left, "root carries the live total");
    }

    /// @notice Over many seeds, a validator holding a third of the weight holds about a third of the seats: the
    /// draw is by stake and has no neighbour bias (a small validator next to a big one gets only its own share).
    function test_seatsFallInProportionToWeight() public {
        roster.insert(A, 1e18); // small, left of the big one
        roster.insert(B, 6e18);
        roster.insert(C, 2e18); // small, right of the big one
        uint256 total = 9e18;
        uint256[3] memory seats;
        uint256 draws = 3000;
        for (uint256 i; i < draws; ++i) {
            uint256 position = Roster.seatPosition(keccak256(abi.encode(i)), 0, total);
            if (position < 1e18) ++seats[0];
            else if (position < 7e18) ++seats[1];
            else ++seats[2];
        }
        // Expected 333 / 2000 / 667; 5 standard deviations of slack.
        assertLe(_distance(seats[0], 333), 90, "A's share");
        assertLe(_distance(seats[1], 2000), 130, "B's share");
        assertLe(_distance(seats[2], 667), 120, "C's share");
    }

    function _distance(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
