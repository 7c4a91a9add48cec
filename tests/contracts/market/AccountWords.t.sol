// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccountWords, BalanceWord, CapabilityWord, StakeWord} from "../../../contracts/market/AccountWords.sol";
import {Capabilities, Role} from "../../../contracts/market/Types.sol";
import {Test} from "../utils/Test.sol";

/// @notice Packed account slots: every setter changes its field and nothing else.
contract AccountWordsTest is Test {
    function testFuzz_stakeWord_settersKeepOtherFields(uint96 stake, uint96 locked, uint8 role, uint16 index)
        public
        pure
    {
        Role r = Role(role % 3);
        StakeWord w = StakeWord.wrap(0).withRole(r, index).withStake(stake).withLocked(locked);
        assertEq(w.stake(), stake, "stake");
        assertEq(w.locked(), locked, "locked");
        assertEq(uint8(w.role()), uint8(r), "role");
        assertEq(w.validatorIndex(), index, "index");

        w = w.withStake(~stake);
        assertEq(w.stake(), ~stake, "stake replaced");
        assertEq(w.locked(), locked, "locked kept");
        assertEq(uint8(w.role()), uint8(r), "role kept");
        w = w.withLocked(~locked);
        assertEq(w.locked(), ~locked, "locked replaced");
        assertEq(w.stake(), ~stake, "stake kept");
        assertEq(w.validatorIndex(), index, "index kept");
    }

    function testFuzz_balanceWord_roundTripsAndStaysPrimed(uint128 balance, uint120 reward) public pure {
        BalanceWord w = AccountWords.packBalance(balance, reward);
        assertEq(w.balance(), balance, "balance");
        assertEq(w.rewardOwed(), reward, "reward");
        assertTrue(BalanceWord.unwrap(w) != 0, "never an empty slot");
        assertTrue(BalanceWord.unwrap(AccountWords.primed()) != 0, "primed empty balance is nonzero");
        assertEq(AccountWords.primed().balance(), 0, "primed has no balance");
    }

    function testFuzz_capabilityWord_roundTrips(Capabilities calldata caps) public pure {
        CapabilityWord w = AccountWords.packCapabilities(caps);
        Capabilities memory back = w.unpack();
        assertEq(keccak256(abi.encode(back)), keccak256(abi.encode(caps)), "round trip");
        assertEq(w.gpuCount(), caps.gpuCount, "gpuCount");
        assertEq(w.gpuMemoryMiB(), caps.gpuMemoryMiB, "gpuMemory");
        assertEq(w.gpuClass(), caps.gpuClass, "gpuClass");
        assertEq(w.cpuCores(), caps.cpuCores, "cpuCores");
        assertEq(w.memoryMiB(), caps.memoryMiB, "memory");
    }
}
