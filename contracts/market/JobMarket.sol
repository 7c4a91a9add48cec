// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {CapabilityWord} from "./AccountWords.sol";
import {ChallengeSeed} from "./ChallengeSeed.sol";
import {EncodedJob, JobCodec} from "./JobCodec.sol";
import {Staking} from "./Staking.sol";
import {
    Capability,
    Evidence,
    Job,
    JobSpec,
    JobSpecField,
    JobStatus,
    MAX_COMMITTEE_SIZE,
    MAX_VERIFY_BLOCKS,
    VerificationMode,
    VoteReason
} from "./Types.sol";

/// @title Posting, cancelling, claiming and submitting jobs; the committee's seed and vote digests
/// @notice Settlement (`finalize` with the committee's signed votes, `expireJob`) lives in `JobSettlement`.
/// @dev Storage per job is one word (see `JobCodec`); the job id counter, the unreserved emission and the current
/// epoch's rewards share a slot.
abstract contract JobMarket is IJobMarket, Staking, EIP712 {
    uint256 internal constant BPS = 10_000;

    /// @dev The EIP-712 type a committee seat signs (`Evidence` flattened, so wallets show every field).
    bytes32 internal constant VOTE_TYPEHASH = keccak256(
        "Vote(uint256 jobId,uint8 round,bytes32 resultHash,uint8 seat,bool approve,uint32 segment,bytes32 committedDigest,bytes32 recomputedDigest,uint8 reason)"
    );

    /// @dev Written by every post and every rewarded acceptance: one slot for all four. 40 bits of job ids last
    /// centuries at any block gas limit (a post costs over 50,000 gas); the supply fits in 96 bits (the
    /// constructor checks the cap). `epoch` keeps the lowest 24 bits of `block.timestamp / epochLength`: it can only
    /// alias after 2^24 epochs without a rewarded acceptance, and aliasing can only lower a reward, never raise it.
    struct Counters {
        uint40 nextJobId;
        uint96 rewardsRemaining;
        uint24 epoch;
        uint96 epochRewarded;
    }

    uint256 private constant EPOCH_MASK = type(uint24).max;

    /// @dev Protocol fees of accepted jobs, set aside and burned: two running totals in one slot that only grow, so
    /// setting a fee aside rewrites a live slot (2,900 gas) where a burn per job called the token (about 15,000).
    struct FeeLedger {
        uint128 setAside;
        uint128 burned;
    }

    mapping(uint256 jobId => bytes32 word) private _jobWords;
    Counters private _counters;
    FeeLedger private _fees;

    /// @param emission Tokens the market may mint as rewards over its life.
    constructor(uint256 emission) EIP712("CrowdMarket", "2") {
        _counters = Counters(1, uint96(emission), 0, 0);
    }

    // ------------------------------------------------------------------ requester

    /// @inheritdoc IJobMarket
    /// @dev No reentrancy guard on the posts: their external calls (the permit, then the pull) come last, into
    /// CrowdToken, which has no hooks and cannot call back; the guard would cost the hottest path ~400 gas for
    /// nothing.
    function postJob(JobSpec calldata spec) external returns (uint256 jobId) {
        uint256 escrow;
        (jobId, escrow) = _post(spec);
        _pullFromCaller(escrow);
    }

    /// @inheritdoc IJobMarket
    function postJobWithPermit(JobSpec calldata spec, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 jobId)
    {
        uint256 escrow;
        (jobId, escrow) = _post(spec);
        _permit(escrow, deadline, v, r, s);
        _pullFromCaller(escrow);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId, Job calldata job) external nonReentrant {
        EncodedJob encoded = _loadJob(jobId, job, JobStatus.Open);
        address requester = encoded.requester();
        if (msg.sender != requester) revert NotJobRequester(jobId, msg.sender, requester);
        delete _jobWords[jobId];
        _releaseReward(encoded.reward());
        // An open job always holds its full escrow: a reopened job had its vote fees restored.
        uint256 refund = encoded.fullEscrow();
        emit JobCancelled(jobId, refund);
        _pushTokens(requester, refund);
    }

    // ------------------------------------------------------------------ provider

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId, Job calldata job) external {
        EncodedJob encoded = _loadJob(jobId, job, JobStatus.Open);
        if (msg.sender == encoded.requester()) revert RequesterCannotClaim(jobId, msg.sender);
        _lockCollateral(msg.sender, encoded.collateral());
        _checkCapabilities(jobId, encoded);

        uint64 deadline;
        // a 64-bit timestamp plus a 32-bit timeout
        unchecked {
            deadline = uint64(block.timestamp) + encoded.runTimeout();
        }
        encoded.setClaim(msg.sender, deadline);
        _jobWords[jobId] = JobCodec.word(encoded.hash(), JobStatus.Claimed);
        emit JobClaimed(jobId, msg.sender, deadline);
    }

    /// @inheritdoc IJobMarket
    function submitResult(
        uint256 jobId,
        Job calldata job,
        bytes32 resultDigest,
        uint8 resultCodec,
        bytes32 checkpointRoot,
        uint32 checkpointCount
    ) external {
        EncodedJob encoded = _loadJob(jobId, job, JobStatus.Claimed);
        address provider = encoded.provider();
        if (msg.sender != provider) revert NotJobProvider(jobId, msg.sender, provider);
        uint64 deadline = encoded.deadline();
        if (block.timestamp > deadline) revert SubmitDeadlinePassed(jobId, deadline);
        if (resultDigest == 0) revert EmptyResult(jobId);

        // The committee is drawn from the roster as it stands now: stake that arrives later is not in the snapshot,
        // stake that leaves later cannot move a seat. A job without a committee needs none.
        bytes32 roster = encoded.mode() == VerificationMode.None ? bytes32(0) : _rosterRoot();
        encoded.setSubmission(
            uint64(block.number),
            roster,
            keccak256(abi.encode(resultDigest, resultCodec, checkpointRoot, checkpointCount))
        );
        _jobWords[jobId] = JobCodec.word(encoded.hash(), JobStatus.Submitted);
        emit ResultSubmitted(jobId, provider, resultDigest, resultCodec, checkpointRoot, checkpointCount, roster);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IJobMarket
    function jobWord(uint256 jobId) external view returns (bytes32) {
        return _jobWords[jobId];
    }

    /// @inheritdoc IJobMarket
    function statusOf(uint256 jobId) external view returns (JobStatus) {
        return _statusOf(jobId, _jobWords[jobId]);
    }

    /// @inheritdoc IJobMarket
    function nextJobId() external view returns (uint256) {
        return _counters.nextJobId;
    }

    /// @inheritdoc IJobMarket
    function rewardsRemaining() external view returns (uint256) {
        return _counters.rewardsRemaining;
    }

    /// @inheritdoc IJobMarket
    function feesToBurn() external view returns (uint256) {
        FeeLedger memory fees = _fees;
        return fees.setAside - fees.burned;
    }

    /// @inheritdoc IJobMarket
    function burnFees() external returns (uint256 amount) {
        FeeLedger memory fees = _fees;
        amount = fees.setAside - fees.burned;
        if (amount == 0) return 0;
        _fees.burned = fees.setAside;
        emit FeesBurned(amount);
        _burnTokens(amount);
    }

    /// @inheritdoc IJobMarket
    function epochRewards() external view returns (uint256 epoch, uint256 rewarded) {
        Counters memory counters = _counters;
        return (counters.epoch, counters.epochRewarded);
    }

    /// @inheritdoc IJobMarket
    function hashJob(Job calldata job) external pure returns (bytes32) {
        return JobCodec.hashCalldata(job);
    }

    /// @inheritdoc IJobMarket
    function seedOf(uint256 jobId, Job calldata job) external view returns (bytes32) {
        _checkJob(jobId, job, JobStatus.Submitted);
        return _readableSeed(jobId, job.state.submitBlock);
    }

    /// @inheritdoc IJobMarket
    function voteDigest(
        uint256 jobId,
        uint8 round,
        bytes32 resultHash,
        uint8 seat,
        bool approve,
        Evidence calldata evidence
    ) external view returns (bytes32) {
        return _voteDigest(jobId, round, resultHash, seat, approve, evidence);
    }

    // ------------------------------------------------------------------ internal: shared with settlement

    /// @dev Reverts unless the job is in `expected` status and `job` hashes to its word (views).
    function _checkJob(uint256 jobId, Job calldata job, JobStatus expected) internal view {
        bytes32 word = _jobWords[jobId];
        _expectStatus(jobId, word, expected);
        if (!JobCodec.matches(word, JobCodec.hashCalldata(job))) revert JobDataMismatch(jobId);
    }

    /// @dev Loads a job's word and checks `job` against it; returns the job's encoding for a transition to
    /// read and edit.
    function _loadJob(uint256 jobId, Job calldata job, JobStatus expected) internal view returns (EncodedJob) {
        return _verify(jobId, job, _jobWords[jobId], expected);
    }

    /// @dev Checks `job` against an already loaded word.
    function _verify(uint256 jobId, Job calldata job, bytes32 word, JobStatus expected)
        internal
        view
        returns (EncodedJob encoded)
    {
        _expectStatus(jobId, word, expected);
        encoded = JobCodec.copy(job);
        if (!JobCodec.matches(word, encoded.hash())) revert JobDataMismatch(jobId);
    }

    /// @dev The stored word of a job.
    function _wordOf(uint256 jobId) internal view returns (bytes32) {
        return _jobWords[jobId];
    }

    /// @dev Stores a job's new word.
    function _storeJob(uint256 jobId, bytes32 word) internal {
        _jobWords[jobId] = word;
    }

    /// @dev Deletes a closed job's word (its outcome lives in the events).
    function _deleteJob(uint256 jobId) internal {
        delete _jobWords[jobId];
    }

    /// @dev Sets an accepted job's protocol fee aside for `burnFees` (the totals stay far below 2^128: the whole
    /// supply fits in 96 bits, and fees are burned at most once).
    function _setAsideFee(uint96 fee) internal {
        if (fee != 0) _fees.setAside += fee;
    }

    /// @dev Returns a closed job's unearned reward to the emission budget.
    function _releaseReward(uint96 reward) internal {
        if (reward != 0) _counters.rewardsRemaining += reward;
    }

    /// @dev The block whose hash seeds a job's committee: the one after the submission, so neither the provider
    /// nor the submission block's producer knows it when the result is committed. (A VRF or a beacon replaces
    /// `_seedBlock` and `_seedFrom` together.)
    function _seedBlock(uint256 submitBlock) internal pure returns (uint256) {
        return ChallengeSeed.seedBlock(submitBlock);
    }

    /// @dev `keccak256(abi.encode(seedBlockHash, jobId))` (`ChallengeSeed`).
    function _seedFrom(bytes32 blockHash, uint256 jobId) internal pure returns (bytes32) {
        return ChallengeSeed.seed(blockHash, jobId);
    }

    /// @dev The EIP-712 digest seat `seat` of round `round` signs to vote on job `jobId`'s result.
    function _voteDigest(
        uint256 jobId,
        uint256 round,
        bytes32 resultHash,
        uint256 seat,
        bool approve,
        Evidence calldata evidence
    ) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    VOTE_TYPEHASH,
                    jobId,
                    round,
                    resultHash,
                    seat,
                    approve,
                    evidence.segment,
                    evidence.committedDigest,
                    evidence.recomputedDigest,
                    evidence.reason
                )
            )
        );
    }

    /// @dev Owes what the current epoch's cap still allows of an accepted job's `reward`; the rest returns to the
    /// emission budget (`RewardCapped`). Returns what is owed.
    function _grantReward(uint256 jobId, uint96 reward) internal returns (uint96 paid) {
        Counters memory counters = _counters;
        uint256 epoch = (block.timestamp / _epochLengthConfig()) & EPOCH_MASK;
        uint256 rewarded = counters.epoch == epoch ? counters.epochRewarded : 0;
        uint256 cap = _epochRewardCapConfig();
        uint256 room;
        // room = cap - rewarded when positive; the sums stay within the 96-bit supply
        unchecked {
            room = cap > rewarded ? cap - rewarded : 0;
            paid = reward < room ? reward : uint96(room);
            counters.epoch = uint24(epoch);
            counters.epochRewarded = uint96(rewarded + paid);
            if (paid != reward) counters.rewardsRemaining += reward - paid;
        }
        _counters = counters;
        if (paid != reward) emit RewardCapped(jobId, reward, paid, epoch);
    }

    // ------------------------------------------------------------------ private

    /// @dev Validates and stores a new job; returns its id and the escrow to pull.
    function _post(JobSpec calldata spec) private returns (uint256 jobId, uint256 escrow) {
        EncodedJob encoded = JobCodec.fromSpec(spec);
        if (!encoded.isCanonicalSpec()) revert JobSpecNotCanonical();
        // The pause check reads the slot the fee, reward and collateral rates share, so it costs nothing extra.
        _requireNotPaused();
        uint256 budget = encoded.budget();
        uint256 reward = 0;
        uint256 fee;
        // budget < 2^96 and both rates <= 10_000, so fee <= budget and reward <= budget.
        // The fee rounds up and the reward down: with rewardBps < feeBps, reward < fee for every budget >= 1.
        unchecked {
            fee = (budget * _feeBpsConfig() + (BPS - 1)) / BPS;
            // Only work a committee verifies earns a reward; mode None reserves none.
            if (encoded.mode() != VerificationMode.None) reward = budget * _rewardBpsConfig() / BPS;
        }
        encoded.setProtocolFee(uint96(fee));
        escrow = _validateSpec(encoded);

        Counters memory counters = _counters;
        uint256 remaining = counters.rewardsRemaining;
        // reward <= remaining after the clamp; a 40-bit id cannot be exhausted by transactions (see Counters)
        unchecked {
            if (reward > remaining) reward = remaining;
            jobId = counters.nextJobId;
            counters.nextJobId = uint40(jobId + 1);
            counters.rewardsRemaining = uint96(remaining - reward);
        }
        _counters = counters;

        encoded.setRequester(msg.sender);
        encoded.setReward(uint96(reward)); // at most the 96-bit budget
        _jobWords[jobId] = JobCodec.word(encoded.hash(), JobStatus.Open);
        // JobPosted(jobId, requester, spec) with the spec taken from the encoding that was just hashed.
        encoded.logSpec(JobPosted.selector, jobId, msg.sender);
    }

    /// @dev Enforces the post requirements listed on `postJob` (the protocol fee already set); returns the escrow.
    function _validateSpec(EncodedJob spec) private view returns (uint256 escrow) {
        if (spec.budget() == 0) revert InvalidJobSpec(JobSpecField.Budget, 0, 1);
        if (spec.bundleDigest() == 0) revert InvalidJobSpec(JobSpecField.BundleDigest, 0, 1);
        if (spec.runTimeout() == 0) revert InvalidJobSpec(JobSpecField.RunTimeout, 0, 1);
        uint256 committeeSize = spec.committeeSize();
        if (committeeSize > MAX_COMMITTEE_SIZE) {
            revert InvalidJobSpec(JobSpecField.CommitteeSize, committeeSize, MAX_COMMITTEE_SIZE);
        }
        VerificationMode mode = spec.mode();
        // An odd committee always has a majority; mode None has no committee.
        if (mode != VerificationMode.None && committeeSize % 2 == 0) {
            revert InvalidJobSpec(JobSpecField.CommitteeSize, committeeSize, MAX_COMMITTEE_SIZE);
        }
        if (mode == VerificationMode.None && committeeSize != 0) {
            revert InvalidJobSpec(JobSpecField.CommitteeSize, committeeSize, 0);
        }
        if ((mode == VerificationMode.Segments || mode == VerificationMode.Shards) && spec.samplesPerValidator() == 0) {
            revert InvalidJobSpec(JobSpecField.SamplesPerValidator, 0, 1);
        }
        uint256 verifyBlocks = spec.verifyBlocks();
        if (verifyBlocks == 0) revert InvalidJobSpec(JobSpecField.VerifyBlocks, 0, 1);
        if (verifyBlocks > MAX_VERIFY_BLOCKS) {
            revert InvalidJobSpec(JobSpecField.VerifyBlocks, verifyBlocks, MAX_VERIFY_BLOCKS);
        }
        escrow = spec.fullEscrow();
        uint256 required;
        // escrow = budget + protocolFee + committee fees; budget * bps fits easily in 256 bits
        unchecked {
            required = escrow - spec.budget() - spec.protocolFee();
            uint256 ratio = uint256(spec.budget()) * _minCollateralBpsConfig() / BPS;
            if (ratio > required) required = ratio;
        }
        // Collateral covers the committee's fees (a rejected job's votes are paid from it) and scales with value.
        if (spec.collateral() < required) revert InvalidJobSpec(JobSpecField.Collateral, spec.collateral(), required);
    }

    /// @dev Reverts with the capability the caller lacks, if any.
    function _checkCapabilities(uint256 jobId, EncodedJob spec) private view {
        CapabilityWord caps = _capabilitiesOf(msg.sender);
        if (caps.gpuCount() < spec.gpuCount()) {
            revert ProviderLacksCapability(jobId, msg.sender, Capability.GpuCount, spec.gpuCount(), caps.gpuCount());
        }
        if (caps.gpuMemoryMiB() < spec.gpuMemoryMiB()) {
            revert ProviderLacksCapability(
                jobId, msg.sender, Capability.GpuMemory, spec.gpuMemoryMiB(), caps.gpuMemoryMiB()
            );
        }
        if (caps.gpuClass() < spec.gpuClass()) {
            revert ProviderLacksCapability(jobId, msg.sender, Capability.GpuClass, spec.gpuClass(), caps.gpuClass());
        }
        if (caps.cpuCores() < spec.cpuCores()) {
            revert ProviderLacksCapability(jobId, msg.sender, Capability.CpuCores, spec.cpuCores(), caps.cpuCores());
        }
        if (caps.memoryMiB() < spec.memoryMiB()) {
            revert ProviderLacksCapability(jobId, msg.sender, Capability.Memory, spec.memoryMiB(), caps.memoryMiB());
        }
    }

    /// @dev The seed, reverting if the seed block's hash cannot be read (not mined yet, or too old).
    function _readableSeed(uint256 jobId, uint64 submitBlock) internal view returns (bytes32) {
        uint256 seedBlock = _seedBlock(submitBlock);
        bytes32 blockHash = ChallengeSeed.readableHash(seedBlock);
        // the seed block follows a 64-bit submission block
        if (blockHash == 0) revert SeedUnavailable(jobId, uint64(seedBlock));
        return _seedFrom(blockHash, jobId);
    }

    /// @dev Reverts unless the word's status is `expected`.
    function _expectStatus(uint256 jobId, bytes32 word, JobStatus expected) private view {
        if (uint8(uint256(word)) != uint8(expected)) {
            revert JobNotInStatus(jobId, _statusOf(jobId, word), expected);
        }
    }

    /// @dev A word's status, or `Closed` / `None` when there is no word.
    function _statusOf(uint256 jobId, bytes32 word) private view returns (JobStatus) {
        if (word != 0) return JobCodec.status(word);
        return jobId != 0 && jobId < _counters.nextJobId ? JobStatus.Closed : JobStatus.None;
    }
}
