// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Capabilities, Role} from "./Types.sol";

/// @dev An account's stake slot: `stake` (bits 0..95), `locked` (96..191, always <= stake), `role` (192..199),
/// `validatorIndex` (200..215: a validator's roster leaf plus one, 0 while it is not live).
type StakeWord is uint256;

/// @dev An account's balance slot: `balance` (bits 0..127), `rewardOwed` (128..247), `primed` (248): set at the
/// first write and never cleared, so a credit after `withdraw` rewrites a live slot (2,900 gas) instead of filling
/// an empty one (20,000).
type BalanceWord is uint256;

/// @dev A provider's capabilities: `gpuCount` (bits 0..7), `gpuMemoryMiB` (8..39), `gpuClass` (40..47),
/// `cpuCores` (48..63), `memoryMiB` (64..95), `pricePerHour` (96..191).
type CapabilityWord is uint256;

using AccountWords for StakeWord global;
using AccountWords for BalanceWord global;
using AccountWords for CapabilityWord global;

/// @title Packed account slots
/// @notice Each hot account slot is one word read and written whole: one `SLOAD` and one `SSTORE` per update,
/// where a storage struct updated field by field costs a read per field and a packed memory copy costs a few
/// hundred gas of packing.
/// @dev Setters take the new field value as its own type (so callers' arithmetic is checked in that type) and
/// replace the field's bits.
library AccountWords {
    uint256 private constant U96 = type(uint96).max;
    uint256 private constant LOCKED_SHIFT = 96;
    uint256 private constant ROLE_SHIFT = 192;
    uint256 private constant INDEX_SHIFT = 200;
    uint256 private constant REWARD_SHIFT = 128;
    uint256 private constant PRIMED = 1 << 248;

    // ------------------------------------------------------------------ StakeWord

    function stake(StakeWord w) internal pure returns (uint96) {
        return uint96(StakeWord.unwrap(w));
    }

    function locked(StakeWord w) internal pure returns (uint96) {
        return uint96(StakeWord.unwrap(w) >> LOCKED_SHIFT);
    }

    function role(StakeWord w) internal pure returns (Role) {
        return Role(uint8(StakeWord.unwrap(w) >> ROLE_SHIFT));
    }

    function validatorIndex(StakeWord w) internal pure returns (uint16) {
        return uint16(StakeWord.unwrap(w) >> INDEX_SHIFT);
    }

    function withStake(StakeWord w, uint96 value) internal pure returns (StakeWord) {
        return StakeWord.wrap((StakeWord.unwrap(w) & ~U96) | value);
    }

    function withLocked(StakeWord w, uint96 value) internal pure returns (StakeWord) {
        return StakeWord.wrap((StakeWord.unwrap(w) & ~(U96 << LOCKED_SHIFT)) | (uint256(value) << LOCKED_SHIFT));
    }

    /// @dev Sets the role (and the list position for a validator) of an account that had none.
    function withRole(StakeWord w, Role value, uint16 index) internal pure returns (StakeWord) {
        return StakeWord.wrap(
            (StakeWord.unwrap(w) & (U96 | (U96 << LOCKED_SHIFT))) | (uint256(uint8(value)) << ROLE_SHIFT)
                | (uint256(index) << INDEX_SHIFT)
        );
    }

    // ------------------------------------------------------------------ BalanceWord

    function balance(BalanceWord w) internal pure returns (uint128) {
        return uint128(BalanceWord.unwrap(w));
    }

    function rewardOwed(BalanceWord w) internal pure returns (uint120) {
        return uint120(BalanceWord.unwrap(w) >> REWARD_SHIFT);
    }

    /// @dev A balance slot holding `newBalance` and `newReward`, primed.
    function packBalance(uint128 newBalance, uint120 newReward) internal pure returns (BalanceWord) {
        return BalanceWord.wrap(uint256(newBalance) | (uint256(newReward) << REWARD_SHIFT) | PRIMED);
    }

    /// @dev The empty but primed slot.
    function primed() internal pure returns (BalanceWord) {
        return BalanceWord.wrap(PRIMED);
    }

    // ------------------------------------------------------------------ CapabilityWord

    function packCapabilities(Capabilities calldata caps) internal pure returns (CapabilityWord) {
        return CapabilityWord.wrap(
            uint256(caps.gpuCount) | (uint256(caps.gpuMemoryMiB) << 8) | (uint256(caps.gpuClass) << 40)
                | (uint256(caps.cpuCores) << 48) | (uint256(caps.memoryMiB) << 64) | (uint256(caps.pricePerHour) << 96)
        );
    }

    function unpack(CapabilityWord w) internal pure returns (Capabilities memory caps) {
        uint256 v = CapabilityWord.unwrap(w);
        caps = Capabilities({
            gpuCount: uint8(v),
            gpuMemoryMiB: uint32(v >> 8),
            gpuClass: uint8(v >> 40),
            cpuCores: uint16(v >> 48),
            memoryMiB: uint32(v >> 64),
            pricePerHour: uint96(v >> 96)
        });
    }

    function gpuCount(CapabilityWord w) internal pure returns (uint256) {
        return uint8(CapabilityWord.unwrap(w));
    }

    function gpuMemoryMiB(CapabilityWord w) internal pure returns (uint256) {
        return uint32(CapabilityWord.unwrap(w) >> 8);
    }

    function gpuClass(CapabilityWord w) internal pure returns (uint256) {
        return uint8(CapabilityWord.unwrap(w) >> 40);
    }

    function cpuCores(CapabilityWord w) internal pure returns (uint256) {
        return uint16(CapabilityWord.unwrap(w) >> 48);
    }

    function memoryMiB(CapabilityWord w) internal pure returns (uint256) {
        return uint32(CapabilityWord.unwrap(w) >> 64);
    }
}
