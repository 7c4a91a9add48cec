// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IKeyRelease} from "../interfaces/IKeyRelease.sol";
import {JobCodec} from "./JobCodec.sol";
import {Job, JobStatus} from "./Types.sol";

/// @title Sealed keys of confidential jobs (docs/confidential.md)
/// @notice Kept out of the market so the market stays under EIP-170; the market reads `keyReleased` when a
/// claimant gives a claim back. Nothing here moves tokens.
contract KeyRelease is IKeyRelease {
    /// @dev Longest seal accepted: an HPKE `enc` (32 bytes) and a 64-byte payload with its tag fit many times over.
    uint256 public constant MAX_SEALED_KEY_BYTES = 256;

    /// @dev The key window is the first `1 / KEY_WINDOW_DIVISOR` of the run timeout after the claim.
    uint256 private constant KEY_WINDOW_DIVISOR = 4;

    IJobMarket private immutable _market;

    mapping(address account => bytes32 key) private _encryptionKeys;
    mapping(bytes32 claim => bool released) private _released;

    /// @param jobMarket The market (its constructor deploys this contract).
    constructor(address jobMarket) {
        _market = IJobMarket(jobMarket);
    }

    /// @inheritdoc IKeyRelease
    function setEncryptionKey(bytes32 key) external {
        if (key == 0) revert InvalidEncryptionKey();
        _encryptionKeys[msg.sender] = key;
        emit EncryptionKeySet(msg.sender, key);
    }

    /// @inheritdoc IKeyRelease
    function encryptionKeyOf(address account) external view returns (bytes32) {
        return _encryptionKeys[account];
    }

    /// @inheritdoc IKeyRelease
    function releaseKey(uint256 jobId, Job calldata job, bytes calldata sealedKey) external {
        // The market's `_verify` rule, read through its views: status Claimed, and the job hashes to the word.
        bytes32 word = _market.jobWord(jobId);
        if (JobCodec.status(word) != JobStatus.Claimed) {
            revert JobNotInStatus(jobId, _market.statusOf(jobId), JobStatus.Claimed);
        }
        if (!JobCodec.matches(word, JobCodec.hashCalldata(job))) revert JobDataMismatch(jobId);
        address requester = job.spec.requester;
        if (msg.sender != requester) revert NotJobRequester(jobId, msg.sender, requester);
        if (job.spec.resultKey == 0) revert NotConfidential(jobId);
        _checkSeal(sealedKey);

        address provider = job.state.provider;
        uint64 deadline = job.state.deadline;
        uint256 runTimeout = job.spec.runTimeout;
        uint256 windowEnd;
        // deadline = claim time + runTimeout (set by claimJob), so the subtraction cannot underflow
        unchecked {
            windowEnd = deadline - runTimeout + runTimeout / KEY_WINDOW_DIVISOR;
        }
        bool recorded = block.timestamp <= windowEnd;
        if (recorded) _released[_claimKey(jobId, provider, deadline)] = true;
        emit KeyReleased(jobId, provider, deadline, recorded, sealedKey);
    }

    /// @inheritdoc IKeyRelease
    function publishKeys(uint256 jobId, address[] calldata recipients, bytes[] calldata sealedKeys) external {
        uint256 count = recipients.length;
        if (count != sealedKeys.length) revert SealedKeyCountMismatch(count, sealedKeys.length);
        for (uint256 i; i < count; ++i) {
            _checkSeal(sealedKeys[i]);
            emit KeySealed(jobId, msg.sender, recipients[i], sealedKeys[i]);
        }
    }

    /// @inheritdoc IKeyRelease
    function keyReleased(uint256 jobId, address provider, uint64 deadline) external view returns (bool) {
        return _released[_claimKey(jobId, provider, deadline)];
    }

    /// @inheritdoc IKeyRelease
    function market() external view returns (address) {
        return address(_market);
    }

    /// @dev A claim is named by its job, claimant and deadline: a reopened job's next claim is another claim.
    function _claimKey(uint256 jobId, address provider, uint64 deadline) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, provider, deadline));
    }

    function _checkSeal(bytes calldata sealedKey) private pure {
        uint256 length = sealedKey.length;
        if (length == 0 || length > MAX_SEALED_KEY_BYTES) revert InvalidSealedKey(length);
    }
}
