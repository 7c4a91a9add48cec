// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Job, JobStatus} from "../market/Types.sol";

/// @title Sealed keys of confidential jobs, on chain (docs/confidential.md, "Chain rules" and "Key seals")
/// @notice Deployed by the market. Accounts publish the X25519 public key others seal to; a confidential job's
/// requester releases the bundle's content key to the claimant (`releaseKey`, recorded only inside the key window,
/// which the market's `releaseClaim` reads); anyone publishes other seals (`publishKeys`). Seals are opaque bytes
/// here (HPKE `enc | ciphertext`): readers trust a seal by its sender, never by this contract.
interface IKeyRelease {
    /// @notice An account published the X25519 public key others seal keys to.
    /// @param account The account.
    /// @param key Its public key (the newest replaces older ones).
    event EncryptionKeySet(address indexed account, bytes32 key);

    /// @notice A confidential job's requester released the content key to the job's claimant.
    /// @param jobId The job.
    /// @param provider The claimant (`state.provider`) it is sealed to.
    /// @param deadline The claim's deadline (`state.deadline`): names the claim.
    /// @param recorded Whether it came inside the key window and was recorded for `releaseClaim`.
    /// @param sealedKey The seal.
    event KeyReleased(uint256 indexed jobId, address indexed provider, uint64 deadline, bool recorded, bytes sealedKey);

    /// @notice A key sealed for `recipient` was published (`publishKeys`: pre-seals, committee seals, result keys).
    /// @param jobId The job.
    /// @param sender Who published it (readers trust a seal by its sender).
    /// @param recipient Whom it is sealed to.
    /// @param sealedKey The seal.
    event KeySealed(uint256 indexed jobId, address indexed sender, address indexed recipient, bytes sealedKey);

    /// @notice An encryption key must be nonzero.
    error InvalidEncryptionKey();

    /// @notice A seal's length must be 1..`MAX_SEALED_KEY_BYTES`.
    /// @param length The length given.
    error InvalidSealedKey(uint256 length);

    /// @notice `publishKeys` needs one seal per recipient.
    /// @param recipients Recipients given.
    /// @param sealedKeys Seals given.
    error SealedKeyCountMismatch(uint256 recipients, uint256 sealedKeys);

    /// @notice Only the job's requester may release its key.
    /// @param jobId The job.
    /// @param caller Who called.
    /// @param requester The job's requester.
    error NotJobRequester(uint256 jobId, address caller, address requester);

    /// @notice The job is not confidential (`spec.resultKey == 0`).
    /// @param jobId The job.
    error NotConfidential(uint256 jobId);

    /// @notice The job is not in the status the call needs (as the market reports it).
    /// @param jobId The job.
    /// @param actual Its status.
    /// @param expected The status the call needs.
    error JobNotInStatus(uint256 jobId, JobStatus actual, JobStatus expected);

    /// @notice The `Job` passed does not hash to the market's stored word.
    /// @param jobId The job.
    error JobDataMismatch(uint256 jobId);

    /// @notice Publishes the caller's X25519 public key.
    /// @dev Emits `EncryptionKeySet`. Requirements: `key != 0` (`InvalidEncryptionKey`).
    function setEncryptionKey(bytes32 key) external;

    /// @notice The caller's published X25519 public key, zero if none.
    function encryptionKeyOf(address account) external view returns (bytes32);

    /// @notice The requester of a claimed confidential job releases the content key, sealed to the claimant.
    /// Recorded for `(jobId, provider, deadline)` only when `block.timestamp <= claimTime + runTimeout / 4`, where
    /// `claimTime = deadline - runTimeout`; a late release is still published, but not recorded.
    /// @dev Emits `KeyReleased`. Requirements: the job is `Claimed` and matches the market's word; the caller is
    /// its requester (`NotJobRequester`); it is confidential (`NotConfidential`); the seal is 1..256 bytes
    /// (`InvalidSealedKey`).
    function releaseKey(uint256 jobId, Job calldata job, bytes calldata sealedKey) external;

    /// @notice Publishes seals, one `KeySealed` per entry. Stores nothing.
    /// @dev Requirements: equal lengths (`SealedKeyCountMismatch`); each seal 1..256 bytes (`InvalidSealedKey`).
    function publishKeys(uint256 jobId, address[] calldata recipients, bytes[] calldata sealedKeys) external;

    /// @notice Whether the requester released a key inside the key window of the claim `(provider, deadline)`.
    function keyReleased(uint256 jobId, address provider, uint64 deadline) external view returns (bool);

    /// @notice The market whose jobs this contract serves.
    function market() external view returns (address);
}
