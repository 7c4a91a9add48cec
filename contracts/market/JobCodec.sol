// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    JOB_ATTEMPTS,
    JOB_BUDGET,
    JOB_BUDGET_BITS,
    JOB_BUNDLE_CODEC,
    JOB_BUNDLE_CODEC_BITS,
    JOB_BUNDLE_DIGEST,
    JOB_COLLATERAL,
    JOB_COLLATERAL_BITS,
    JOB_COMMITTEE_SIZE,
    JOB_COMMITTEE_SIZE_BITS,
    JOB_CPU_CORES,
    JOB_CPU_CORES_BITS,
    JOB_DEADLINE,
    JOB_GPU_CLASS,
    JOB_GPU_CLASS_BITS,
    JOB_GPU_COUNT,
    JOB_GPU_COUNT_BITS,
    JOB_GPU_MEMORY_MIB,
    JOB_GPU_MEMORY_MIB_BITS,
    JOB_MEMORY_MIB,
    JOB_MEMORY_MIB_BITS,
    JOB_MODE,
    JOB_MODE_BITS,
    JOB_PROTOCOL_FEE,
    JOB_PROVIDER,
    JOB_REOPEN_ON_FAILURE,
    JOB_REOPEN_ON_FAILURE_BITS,
    JOB_REQUESTER,
    JOB_RESULT_HASH,
    JOB_RESULT_KEY,
    JOB_ROSTER_ROOT,
    JOB_ROUND,
    JOB_REWARD,
    JOB_RUN_TIMEOUT,
    JOB_RUN_TIMEOUT_BITS,
    JOB_SAMPLES_PER_VALIDATOR,
    JOB_SAMPLES_PER_VALIDATOR_BITS,
    JOB_SIZE,
    JOB_SPEC_SIZE,
    JOB_STATE_OFFSET,
    JOB_STATE_SIZE,
    JOB_SUBMIT_BLOCK,
    JOB_VALIDATOR_FEE,
    JOB_VALIDATOR_FEE_BITS,
    JOB_VERIFY_BLOCKS,
    JOB_VERIFY_BLOCKS_BITS
} from "../generated/JobLayout.sol";
import {JOB_WORD_HASH_SHIFT, JOB_WORD_STATUS_SHIFT, Job, JobSpec, JobStatus, VerificationMode} from "./Types.sol";

/// @dev A memory pointer to `abi.encode(job)`: one word per field, the `JobSpec` fields then the `JobState` fields
/// (offsets and widths in the generated `JobLayout.sol`).
/// Transitions copy the calldata job here once, check it against the stored word, read the fields they need with
/// the accessors below (one `MLOAD` each, where a nested calldata struct member costs about a hundred gas) and
/// change a few state words before hashing again.
type EncodedJob is uint256;

using JobCodec for EncodedJob global;

/// @title The one-word-per-job layout and the encoding transitions work on
/// @notice A live job is stored as one word: from `JOB_WORD_HASH_SHIFT` up, the upper bits of
/// `keccak256(abi.encode(job))`; below them the approve mask, the voted mask and the `JobStatus` (Types.sol).
/// @dev Reading an `EncodedJob` without cleaning is sound once it matched the stored word: the word was hashed
/// from a canonical encoding (every field fits its type), and a non-canonical copy would hash differently.
/// A fresh spec is checked by `isCanonicalSpec` before it is hashed.
library JobCodec {
    /// @dev The bits of a word that hold the job's hash.
    uint256 private constant HASH_MASK = type(uint256).max << JOB_WORD_HASH_SHIFT;

    /// @dev Each part of the word runs up to where the next one starts.

    // ------------------------------------------------------------------ building

    /// @notice Copies a calldata job's encoding into newly allocated memory.
    function copy(Job calldata job) internal pure returns (EncodedJob encoded) {
        assembly ("memory-safe") {
            encoded := mload(0x40)
            calldatacopy(encoded, job, JOB_SIZE)
            mstore(0x40, add(encoded, JOB_SIZE))
        }
    }

    /// @notice Encodes a fresh job: the calldata `spec` followed by an all-zero `JobState`.
    function fromSpec(JobSpec calldata spec) internal pure returns (EncodedJob encoded) {
        assembly ("memory-safe") {
            encoded := mload(0x40)
            calldatacopy(encoded, spec, JOB_SPEC_SIZE)
            // copying past the end of calldata writes zeros
            calldatacopy(add(encoded, JOB_STATE_OFFSET), calldatasize(), JOB_STATE_SIZE)
            mstore(0x40, add(encoded, JOB_SIZE))
        }
    }

    /// @notice Whether every spec field the requester controls fits its type (`requester`, `reward` and
    /// `protocolFee` are overwritten by the market and not checked).
    function isCanonicalSpec(EncodedJob encoded) internal pure returns (bool canonical) {
        assembly ("memory-safe") {
            // Bits above each field's width, OR-ed together: zero iff all fields fit.
            let excess := shr(JOB_BUDGET_BITS, mload(add(encoded, JOB_BUDGET)))
            excess := or(excess, shr(JOB_BUNDLE_CODEC_BITS, mload(add(encoded, JOB_BUNDLE_CODEC))))
            excess := or(excess, shr(JOB_GPU_COUNT_BITS, mload(add(encoded, JOB_GPU_COUNT))))
            excess := or(excess, shr(JOB_GPU_MEMORY_MIB_BITS, mload(add(encoded, JOB_GPU_MEMORY_MIB))))
            excess := or(excess, shr(JOB_GPU_CLASS_BITS, mload(add(encoded, JOB_GPU_CLASS))))
            excess := or(excess, shr(JOB_CPU_CORES_BITS, mload(add(encoded, JOB_CPU_CORES))))
            excess := or(excess, shr(JOB_MEMORY_MIB_BITS, mload(add(encoded, JOB_MEMORY_MIB))))
            excess := or(excess, shr(JOB_COLLATERAL_BITS, mload(add(encoded, JOB_COLLATERAL))))
            excess := or(excess, shr(JOB_RUN_TIMEOUT_BITS, mload(add(encoded, JOB_RUN_TIMEOUT))))
            // 2 bits hold the 4 modes exactly; a wider enum would also need a `< count` check
            excess := or(excess, shr(JOB_MODE_BITS, mload(add(encoded, JOB_MODE))))
            excess := or(excess, shr(JOB_COMMITTEE_SIZE_BITS, mload(add(encoded, JOB_COMMITTEE_SIZE))))
            excess := or(excess, shr(JOB_SAMPLES_PER_VALIDATOR_BITS, mload(add(encoded, JOB_SAMPLES_PER_VALIDATOR))))
            excess := or(excess, shr(JOB_VERIFY_BLOCKS_BITS, mload(add(encoded, JOB_VERIFY_BLOCKS))))
            excess := or(excess, shr(JOB_VALIDATOR_FEE_BITS, mload(add(encoded, JOB_VALIDATOR_FEE))))
            excess := or(excess, shr(JOB_REOPEN_ON_FAILURE_BITS, mload(add(encoded, JOB_REOPEN_ON_FAILURE))))
            canonical := iszero(excess)
        }
    }

    // ------------------------------------------------------------------ hashing and the stored word

    /// @notice `keccak256(abi.encode(job))` of a calldata job, hashed in scratch memory past the free pointer.
    function hashCalldata(Job calldata job) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, JOB_SIZE)
            digest := keccak256(ptr, JOB_SIZE)
        }
    }

    /// @notice `keccak256` of the encoding.
    function hash(EncodedJob encoded) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            digest := keccak256(encoded, JOB_SIZE)
        }
    }

    /// @notice Packs a job's hash and status into its stored word.
    function word(bytes32 digest, JobStatus jobStatus) internal pure returns (bytes32) {
        return bytes32((uint256(digest) & HASH_MASK) | (uint256(uint8(jobStatus)) << JOB_WORD_STATUS_SHIFT));
    }

    /// @notice Whether `digest`'s upper 232 bits are the ones stored in `jobWord`.
    function matches(bytes32 jobWord, bytes32 digest) internal pure returns (bool) {
        return (uint256(jobWord ^ digest) & HASH_MASK) == 0;
    }

    /// @notice The status byte of a word (`None` for an empty word).
    function status(bytes32 jobWord) internal pure returns (JobStatus) {
        return JobStatus(uint8(uint256(jobWord) >> JOB_WORD_STATUS_SHIFT));
    }

    /// @notice Emits a log whose data is the encoded `JobSpec` (the words before `JOB_STATE_OFFSET`).
    /// @dev Byte-for-byte what `emit Event(topic1, topic2, spec)` would log, without re-encoding the spec.
    function logSpec(EncodedJob encoded, bytes32 topic0, uint256 topic1, address topic2) internal {
        assembly ("memory-safe") {
            log3(encoded, JOB_SPEC_SIZE, topic0, topic1, topic2)
        }
    }

    // ------------------------------------------------------------------ field accessors
    // Each returns the `Job` field of the same name (valid once the encoding matched the stored word).

    function requester(EncodedJob e) internal pure returns (address v) {
        v = address(uint160(_at(e, JOB_REQUESTER)));
    }

    function budget(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, JOB_BUDGET));
    }

    function bundleDigest(EncodedJob e) internal pure returns (bytes32 v) {
        v = bytes32(_at(e, JOB_BUNDLE_DIGEST));
    }

    function gpuCount(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, JOB_GPU_COUNT));
    }

    function gpuMemoryMiB(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, JOB_GPU_MEMORY_MIB));
    }

    function gpuClass(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, JOB_GPU_CLASS));
    }

    function cpuCores(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, JOB_CPU_CORES));
    }

    function memoryMiB(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, JOB_MEMORY_MIB));
    }

    function collateral(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, JOB_COLLATERAL));
    }

    function runTimeout(EncodedJob e) internal pure returns (uint32 v) {
        v = uint32(_at(e, JOB_RUN_TIMEOUT));
    }

    function mode(EncodedJob e) internal pure returns (VerificationMode v) {
        v = VerificationMode(uint8(_at(e, JOB_MODE)));
    }

    function committeeSize(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, JOB_COMMITTEE_SIZE));
    }

    function samplesPerValidator(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, JOB_SAMPLES_PER_VALIDATOR));
    }

    function verifyBlocks(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, JOB_VERIFY_BLOCKS));
    }

    function validatorFee(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, JOB_VALIDATOR_FEE));
    }

    function reward(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, JOB_REWARD));
    }

    function protocolFee(EncodedJob e) internal pure returns (uint96 v) {
        v = uint96(_at(e, JOB_PROTOCOL_FEE));
    }

    function reopenOnFailure(EncodedJob e) internal pure returns (bool v) {
        v = _at(e, JOB_REOPEN_ON_FAILURE) != 0;
    }

    function resultKey(EncodedJob e) internal pure returns (bytes32 v) {
        v = bytes32(_at(e, JOB_RESULT_KEY));
    }

    function provider(EncodedJob e) internal pure returns (address v) {
        v = address(uint160(_at(e, JOB_PROVIDER)));
    }

    function deadline(EncodedJob e) internal pure returns (uint64 v) {
        v = uint64(_at(e, JOB_DEADLINE));
    }

    function submitBlock(EncodedJob e) internal pure returns (uint64 v) {
        v = uint64(_at(e, JOB_SUBMIT_BLOCK));
    }

    function resultHash(EncodedJob e) internal pure returns (bytes32 v) {
        v = bytes32(_at(e, JOB_RESULT_HASH));
    }

    function rosterRoot(EncodedJob e) internal pure returns (bytes32 v) {
        v = bytes32(_at(e, JOB_ROSTER_ROOT));
    }

    function round(EncodedJob e) internal pure returns (uint8 v) {
        v = uint8(_at(e, JOB_ROUND));
    }

    function attempts(EncodedJob e) internal pure returns (uint16 v) {
        v = uint16(_at(e, JOB_ATTEMPTS));
    }

    /// @notice `budget + protocolFee + committeeSize * validatorFee`: what the requester pays at post.
    function fullEscrow(EncodedJob e) internal pure returns (uint256 v) {
        // two 96-bit amounts plus at most 255 times a 96-bit fee: far below 2^256
        unchecked {
            v = _at(e, JOB_BUDGET) + _at(e, JOB_PROTOCOL_FEE) + _at(e, JOB_COMMITTEE_SIZE) * _at(e, JOB_VALIDATOR_FEE);
        }
    }

    // ------------------------------------------------------------------ field setters
    // Each overwrites state words of the encoding; the caller hashes it afterwards into the new word.

    function setRequester(EncodedJob e, address v) internal pure {
        _put(e, JOB_REQUESTER, uint160(v));
    }

    function setReward(EncodedJob e, uint96 v) internal pure {
        _put(e, JOB_REWARD, v);
    }

    function setProtocolFee(EncodedJob e, uint96 v) internal pure {
        _put(e, JOB_PROTOCOL_FEE, v);
    }

    /// @notice The state a claim sets.
    function setClaim(EncodedJob e, address claimer, uint64 claimDeadline) internal pure {
        _put(e, JOB_PROVIDER, uint160(claimer));
        _put(e, JOB_DEADLINE, claimDeadline);
    }

    /// @notice The state a submission sets.
    function setSubmission(EncodedJob e, uint64 blockNumber, bytes32 roster, bytes32 digest) internal pure {
        _put(e, JOB_SUBMIT_BLOCK, blockNumber);
        _put(e, JOB_ROSTER_ROOT, uint256(roster));
        _put(e, JOB_RESULT_HASH, uint256(digest));
    }

    /// @notice The state an appeal sets: the next round, drawn from `roster` with the block after this one as seed.
    function setAppeal(EncodedJob e, uint8 newRound, uint64 blockNumber, bytes32 roster) internal pure {
        _put(e, JOB_ROUND, newRound);
        _put(e, JOB_SUBMIT_BLOCK, blockNumber);
        _put(e, JOB_ROSTER_ROOT, uint256(roster));
    }

    /// @notice A fresh `JobState` for a reopened job: all zero but `attempts`.
    function resetState(EncodedJob e, uint16 newAttempts) internal pure {
        _put(e, JOB_PROVIDER, 0);
        _put(e, JOB_DEADLINE, 0);
        _put(e, JOB_SUBMIT_BLOCK, 0);
        _put(e, JOB_ROSTER_ROOT, 0);
        _put(e, JOB_ATTEMPTS, newAttempts);
        _put(e, JOB_RESULT_HASH, 0);
        _put(e, JOB_ROUND, 0);
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
