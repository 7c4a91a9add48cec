// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {ChallengeSeed} from "./ChallengeSeed.sol";
import {Committee} from "./Committee.sol";
import {EncodedJob, JobCodec} from "./JobCodec.sol";
import {JobMarket} from "./JobMarket.sol";
import {Job, JobStatus, MAX_REOPENS, Outcome, VerificationMode} from "./Types.sol";

/// @title Settling jobs: finalize after verification, expire after a missed deadline
/// @notice Every path moves each escrowed and slashed token to a balance, back into the job's escrow (reopen),
/// or back to the requester, except an accepted job's protocol fee, which is burned; nothing is pushed, and the
/// only call out is that burn, last, into CrowdToken (which has no hooks).
abstract contract JobSettlement is JobMarket {
    /// @inheritdoc IJobMarket
    function finalize(uint256 jobId, Job calldata job) external {
        bytes32 word = _wordOf(jobId);
        EncodedJob encoded = _verify(jobId, job, word, JobStatus.Submitted);
        uint256 approved = JobCodec.approveMask(word);
        uint256 voted = JobCodec.votedMask(word);
        uint256 accepts = JobCodec.countVotes(approved);
        uint256 rejects;
        uint256 size = _committeeSize(encoded.committeeSize(), encoded.validatorCount());
        // approved is a subset of voted, so accepts <= votes <= committee size <= 8
        unchecked {
            rejects = JobCodec.countVotes(voted) - accepts;
            if (accepts * 2 <= size && rejects * 2 <= size) {
                uint256 lastBlock = ChallengeSeed.seedBlock(encoded.submitBlock()) + encoded.verifyBlocks();
                if (block.number <= lastBlock) revert VerificationPending(jobId, lastBlock);
            }
        }

        if (accepts > rejects || (rejects == 0 && encoded.mode() == VerificationMode.None)) {
            emit JobFinalized(jobId, Outcome.Accepted, uint8(accepts), uint8(rejects));
            // The reward is for verified work only: approvals from a strict majority of the whole committee.
            _accept(jobId, encoded, voted, accepts * 2 > size);
            if (rejects != 0) _settleVoters(jobId, encoded, voted & ~approved, approved);
            uint96 fee = encoded.protocolFee();
            if (fee != 0) _burnTokens(fee);
        } else if (rejects > accepts) {
            emit JobFinalized(jobId, Outcome.Rejected, uint8(accepts), uint8(rejects));
            _slashCollateral(encoded.provider(), jobId, encoded.collateral());
            if (accepts != 0) _settleVoters(jobId, encoded, approved, voted & ~approved);
            // votes * fee <= committeeSize * fee <= collateral; budget plus at most 8 fees of 96 bits
            unchecked {
                uint256 spentFees = (accepts + rejects) * encoded.validatorFee();
                _fail(jobId, encoded, spentFees, encoded.fullEscrow() - spentFees);
            }
        } else {
            emit JobFinalized(jobId, Outcome.Unverified, uint8(accepts), uint8(rejects));
            _deleteJob(jobId);
            _releaseCollateral(encoded.provider(), encoded.collateral(), 0, 0);
            _releaseReward(encoded.reward());
            _credit(encoded.requester(), jobId, encoded.fullEscrow() - _spentFees(encoded, voted));
        }
    }

    /// @inheritdoc IJobMarket
    function expireJob(uint256 jobId, Job calldata job) external {
        EncodedJob encoded = _loadJob(jobId, job, JobStatus.Claimed);
        uint64 deadline = encoded.deadline();
        if (block.timestamp <= deadline) revert DeadlineNotReached(jobId, deadline);
        address provider = encoded.provider();
        uint96 collateral = encoded.collateral();
        _slashCollateral(provider, jobId, collateral);
        emit JobExpired(jobId, provider, collateral);
        _fail(jobId, encoded, 0, encoded.fullEscrow());
    }

    /// @dev Closes an accepted job: the provider is paid and its collateral released; the reward is owed when
    /// `verified` (within the epoch's cap), else it returns to the emission budget; fees of slots that did not
    /// vote go back to the requester. The protocol fee stays with the market for the caller to burn.
    function _accept(uint256 jobId, EncodedJob encoded, uint256 voted, bool verified) private {
        _deleteJob(jobId);
        address provider = encoded.provider();
        uint96 budget = encoded.budget();
        uint96 reward = encoded.reward();
        if (reward != 0) {
            if (verified) {
                reward = _grantReward(jobId, reward);
            } else {
                _releaseReward(reward);
                reward = 0;
            }
        }
        _releaseCollateral(provider, encoded.collateral(), budget, reward);
        emit ProviderPaid(jobId, provider, budget, reward);
        uint256 unusedFees;
        // fullEscrow = budget + protocolFee + committeeSize * fee >= budget + protocolFee + spent fees
        unchecked {
            unusedFees = encoded.fullEscrow() - budget - encoded.protocolFee() - _spentFees(encoded, voted);
        }
        if (unusedFees != 0) _credit(encoded.requester(), jobId, unusedFees);
    }

    /// @dev Fees already credited to the voters in `voted`.
    function _spentFees(EncodedJob encoded, uint256 voted) private pure returns (uint256) {
        // at most 8 fees of 96 bits
        unchecked {
            return JobCodec.countVotes(voted) * encoded.validatorFee();
        }
    }

    /// @dev After the provider's collateral was slashed: reopen the job, or close it and credit the requester.
    /// On reopen the collateral first restores `spentFees` (fees the votes consumed) to the escrow, so the
    /// reopened job again holds `budget + committeeSize * validatorFee`; the rest goes to the requester.
    /// `collateral >= committeeSize * validatorFee >= spentFees` is enforced at post.
    /// @param spentFees Fees credited to voters during this attempt.
    /// @param escrowLeft What the job's escrow still holds.
    function _fail(uint256 jobId, EncodedJob encoded, uint256 spentFees, uint256 escrowLeft) private {
        address requester = encoded.requester();
        uint96 collateral = encoded.collateral();
        uint16 attempts = encoded.attempts();
        if (encoded.reopenOnFailure() && attempts < MAX_REOPENS) {
            uint256 compensation;
            // attempts < MAX_REOPENS, a small constant; spentFees <= collateral (see above)
            unchecked {
                ++attempts;
                compensation = collateral - spentFees;
            }
            encoded.resetState(attempts);
            _storeJob(jobId, JobCodec.word(encoded.hash(), 0, 0, JobStatus.Open));
            emit JobReopened(jobId, attempts);
            if (compensation != 0) _credit(requester, jobId, compensation);
        } else {
            _deleteJob(jobId);
            _releaseReward(encoded.reward());
            _credit(requester, jobId, escrowLeft + collateral);
        }
    }

    /// @dev Slashes each losing voter up to `validatorSlash` and shares the proceeds equally among the winning
    /// voters, division dust to the lowest winning slot. Skipped when the seed's block hash is gone (the committee
    /// can no longer be named); the job still settles.
    function _settleVoters(uint256 jobId, EncodedJob encoded, uint256 loserMask, uint256 winnerMask) private {
        bytes32 blockHash = ChallengeSeed.readableHash(ChallengeSeed.seedBlock(encoded.submitBlock()));
        if (blockHash == 0) return;
        uint256 validators = encoded.validatorCount();
        uint256[] memory positions = Committee.draw(
            ChallengeSeed.seed(blockHash, jobId), _committeeSize(encoded.committeeSize(), validators), validators
        );

        uint96 slash = _validatorSlash();
        uint256 pool = 0;
        for (uint256 slot; loserMask >> slot != 0; ++slot) {
            if ((loserMask >> slot) & 1 == 1) pool += _slashBonded(_validatorAt(positions[slot]), jobId, slash);
        }
        if (pool == 0) return;

        uint256 winners = JobCodec.countVotes(winnerMask);
        uint256 share = pool / winners;
        // slither-disable-next-line divide-before-multiply share rounds down on purpose: dust is what it leaves over
        uint256 dust = pool - share * winners;
        for (uint256 slot; winnerMask >> slot != 0; ++slot) {
            if ((winnerMask >> slot) & 1 == 0) continue;
            uint256 amount = share + dust;
            dust = 0;
            if (amount != 0) _credit(_validatorAt(positions[slot]), jobId, amount);
        }
    }
}
