// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Job, JobSpec, JobStatus, VerificationMode} from "./Types.sol";

/// @dev A memory pointer to `abi.encode(job)`: 24 words, the 18 `JobSpec` fields then the 6 `JobState` fields.
/// Transitions copy the calldata job here once, check it against the stored word, read the fields they need with
/// the accessors below (one `MLOAD` each, where a nested calldata struct member costs about a hundred gas) and
/// change a few state words before hashing again.
type EncodedJob is uint256;

using JobCodec for EncodedJob global;

/// @title The one-word-per-job layout and the encoding transitions work on
/// @notice A live job is stored as one word: bits 255..24 are the upper 232 bits of `keccak256(abi.encode(job))`,
/// bits 23..16 the approve mask, bits 15..8 the voted mask, bits 7..0 the `JobStatus`.
/// @dev Reading an `EncodedJob` without cleaning is sound once it matched the stored word: the word was hashed
/// from a canonical encoding (every field fits its type), and a non-canonical copy would hash differently.
/// A fresh spec is checked by `isCanonicalSpec` before it is hashed.
library JobCodec {
    // Byte offsets of the fields in `abi.encode(job)`.
    uint256 private constant REQUESTER = 0x000;
    uint256 private constant BUDGET = 0x020;
    uint256 private constant BUNDLE_DIGEST = 0x040;
    uint256 private constant GPU_COUNT = 0x080;
    uint256 private constant GPU_MEMORY = 0x0a0;
    uint256 private constant GPU_CLASS = 0x0c0;
    uint256 private constant CPU_CORES = 0x0e0;
    uint256 private constant MEMORY = 0x100;
    uint256 private constant COLLATERAL = 0x120;
    uint256 private constant RUN_TIMEOUT = 0x140;
    uint256 private constant MODE = 0x160;
    uint256 private constant COMMITTEE_SIZE = 0x180;
    uint256 private constant SAMPLES = 0x1a0;
    uint256 private constant VERIFY_BLOCKS = 0x1c0;
    uint256 private constant VALIDATOR_FEE = 0x1e0;
    uint256 private constant REWARD = 0x200;
    uint256 private constant REOPEN = 0x220;
    uint256 private constant PROVIDER = 0x240;
    uint256 private constant DEADLINE = 0x260;
    uint256 private constant SUBMIT_BLOCK = 0x280;
    uint256 private constant VALIDATOR_COUNT = 0x2a0;
    uint256 private constant ATTEMPTS = 0x2c0;
    uint256 private constant RESULT_HASH = 0x2e0;

    /// @dev The bits of a word that hold the job's hash.
    uint256 private constant HASH_MASK = ~uint256(0xffffff);

    // ------------------------------------------------------------------ building

    /// @notice Copies a calldata job's encoding into newly allocated memory.
    function copy(Job calldata job) internal pure returns (EncodedJob encoded) {
        assembly ("memory-safe") {
            encoded := mload(0x40)
            calldatacopy(encoded, job, 0x300)
            mstore(0x40, add(encoded, 0x300))
        }
    }

    /// @notice Encodes a fresh job: the calldata `spec` followed by an all-zero `JobState`.
    function fromSpec(JobSpec calldata spec) internal pure returns (EncodedJob encoded) {
        assembly ("memory-safe") {
            encoded := mload(0x40)
            calldatacopy(encoded, spec, 0x240)
            calldatacopy(add(encoded, 0x240), calldatasize(), 0xc0) // copying past the end writes zeros
            mstore(0x40, add(encoded, 0x300))
        }
    }

    /// @notice Whether every spec field the requester controls fits its type (`requester` and `reward` are
    /// overwritten by the market and not checked).
    function isCanonicalSpec(EncodedJob encoded) internal pure returns (bool canonical) {
        assembly ("memory-safe") {
            // Bits above each field's width, OR-ed together: zero iff all fields fit.
            let excess := shr(96, mload(add(encoded, 0x020))) // budget
            excess := or(excess, shr(8, mload(add(encoded, 0x060)))) // bundleCodec
            excess := or(excess, shr(8, mload(add(encoded, 0x080)))) // gpuCount
            excess := or(excess, shr(32, mload(add(encoded, 0x0a0)))) // gpuMemoryMiB
            excess := or(excess, shr(8, mload(add(encoded, 0x0c0)))) // gpuClass
            excess := or(excess, shr(16, mload(add(encoded, 0x0e0)))) // cpuCores
            excess := or(excess, shr(32, mload(add(encoded, 0x100)))) // memoryMiB
            excess := or(excess, shr(96, mload(add(encoded, 0x120)))) // collateral
            excess := or(excess, shr(32, mload(add(encoded, 0x140)))) // runTimeout
            excess := or(excess, shr(2, mload(add(encoded, 0x160)))) // mode: 4 values
            excess := or(excess, shr(8, mload(add(encoded, 0x180)))) // committeeSize
            excess := or(excess, shr(8, mload(add(encoded, 0x1a0)))) // samplesPerValidator
            excess := or(excess, shr(16, mload(add(encoded, 0x1c0)))) // verifyBlocks
            excess := or(excess, shr(96, mload(add(encoded, 0x1e0)))) // validatorFee
            excess := or(excess, shr(1, mload(add(encoded, 0x220)))) // reopenOnFailure
            canonical := iszero(excess)
        }
    }

    // ------------------------------------------------------------------ hashing and the stored word

    /// @notice `keccak256(abi.encode(job))` of a calldata job, hashed in scratch memory past the free pointer.
    function hashCalldata(Job calldata job) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, 0x300)
            digest := keccak256(ptr, 0x300)
        }
    }

    /// @notice `keccak256` of the encoding.
    function hash(EncodedJob encoded) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            digest := keccak256(encoded, 0x300)
        }
    }

    /// @notice Packs a job's hash, vote masks and status into its stored word.
    function word(bytes32 digest, uint256 approved, uint256 voted, JobStatus jobStatus)
        internal
        pure
        returns (bytes32)
    {
        return bytes32((uint256(digest) & HASH_MASK) | (approved << 16) | (voted << 8) | uint256(uint8(jobStatus)));
    }

    /// @notice Whether `digest`'s upper 232 bits are the ones stored in `jobWord`.
    function matches(bytes32 jobWord, bytes32 digest) internal pure returns (bool) {
        return (uint256(jobWord ^ digest) & HASH_MASK) == 0;
    }

    /// @notice The status byte of a word (`None` for an empty word).
    function status(bytes32 jobWord) internal pure returns (JobStatus) {
        return JobStatus(uint8(uint256(jobWord)));
    }

    /// @notice The committee slots that voted.
    function votedMask(bytes32 jobWord) internal pure returns (uint256) {
        return uint8(uint256(jobWord) >> 8);
    }

    /// @notice The committee slots that voted accept.
    function approveMask(bytes32 jobWord) internal pure returns (uint256) {
        return uint8(uint256(jobWord) >> 16);
    }

    /// @notice Number of set bits in an 8-bit mask.
    function countVotes(uint256 mask) internal pure returns (uint256 count) {
        // Pairwise sums of bits, then of pairs, then of nibbles; every partial sum stays within its field.
        unchecked {
            count = mask - ((mask >> 1) & 0x55);
            count = (count & 0x33) + ((count >> 2) & 0x33);
            count = (count + (count >> 4)) & 0x0f;
        }
    }

    /// @notice Emits a log whose data is the encoded `JobSpec` (the first 18 words).
    /// @dev Byte-for-byte what `emit Event(topic1, topic2, spec)` would log, without re-encoding the spec.
    function logSpec(EncodedJob encoded, bytes32 topic0, uint256 topic1, address topic2) internal {
        assembly ("memory-safe") {
            log3(encoded, 0x240, topic0, topic1, topic2)
        }
    }

    // ------------------------------------------------------------------ field accessors
    // Each returns the `Job` field of the same name (valid once the encoding matched the stored word).

    function requester(EncodedJob e) internal pure returns (address v) {
        v = address(uint160(_at(e, REQUESTER)));
    }

    function budget(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, BUDGET));
    }

    function bundleDigest(EncodedJob e) internal pure returns (bytes32 v) {
        v = bytes32(_at(e, BUNDLE_DIGEST));
    }

    function gpuCount(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, GPU_COUNT));
    }

    function gpuMemoryMiB(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, GPU_MEMORY));
    }

    function gpuClass(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, GPU_CLASS));
    }

    function cpuCores(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, CPU_CORES));
    }

    function memoryMiB(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, MEMORY));
    }

    function collateral(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, COLLATERAL));
    }

    function runTimeout(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, RUN_TIMEOUT));
    }

    function mode(EncodedJob e) internal pure returns (VerificationMode v) {
        v = VerificationMode(uint8(_at(e, MODE)));
    }

    function committeeSize(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, COMMITTEE_SIZE));
    }

    function samplesPerValidator(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, SAMPLES));
    }

    function verifyBlocks(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, VERIFY_BLOCKS));
    }

    function validatorFee(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, VALIDATOR_FEE));
    }

    function reward(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, REWARD));
    }

    function reopenOnFailure(EncodedJob e) internal pure returns (bool v) {
        v = _at(e, REOPEN) != 0;
    }

    function provider(EncodedJob e) internal pure returns (address v) {
        v = address(uint160(_at(e, PROVIDER)));
    }

    function deadline(EncodedJob e) internal pure returns (uint64 v) {
        v = uint64(_at(e, DEADLINE));
    }

    function submitBlock(EncodedJob e) internal pure returns (uint64 v) {
        v = uint64(_at(e, SUBMIT_BLOCK));
    }

    function validatorCount(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, VALIDATOR_COUNT));
    }

    function attempts(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, ATTEMPTS));
    }

    /// @notice `budget + committeeSize * validatorFee`: what the requester pays at post.
    function fullEscrow(EncodedJob e) internal pure returns (uint256 v) {
        // 96-bit budget plus at most 255 times a 96-bit fee: far below 2^256
        unchecked {
            v = _at(e, BUDGET) + _at(e, COMMITTEE_SIZE) * _at(e, VALIDATOR_FEE);
        }
    }

    // ------------------------------------------------------------------ field setters
    // Each overwrites state words of the encoding; the caller hashes it afterwards into the new word.

    function setRequester(EncodedJob e, address v) internal pure {
        _put(e, REQUESTER, uint160(v));
    }

    function setReward(EncodedJob e, uint96 v) internal pure {
        _put(e, REWARD, v);
    }

    /// @notice The state a claim sets.
    function setClaim(EncodedJob e, address claimer, uint64 claimDeadline) internal pure {
        _put(e, PROVIDER, uint160(claimer));
        _put(e, DEADLINE, claimDeadline);
    }

    /// @notice The state a submission sets.
    function setSubmission(EncodedJob e, uint64 blockNumber, uint16 validators, bytes32 resultHash) internal pure {
        _put(e, SUBMIT_BLOCK, blockNumber);
        _put(e, VALIDATOR_COUNT, validators);
        _put(e, RESULT_HASH, uint256(resultHash));
    }

    /// @notice A fresh `JobState` for a reopened job: all zero but `attempts`.
    function resetState(EncodedJob e, uint16 newAttempts) internal pure {
        _put(e, PROVIDER, 0);
        _put(e, DEADLINE, 0);
        _put(e, SUBMIT_BLOCK, 0);
        _put(e, VALIDATOR_COUNT, 0);
        _put(e, ATTEMPTS, newAttempts);
        _put(e, RESULT_HASH, 0);
    }

    function _at(EncodedJob e, uint256 offset) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := mload(add(e, offset))
        }
    }

    function _put(EncodedJob e, uint256 offset, uint256 v) private pure {
        assembly ("memory-safe") {
            mstore(add(e, offset), v)
        }
    }
}
