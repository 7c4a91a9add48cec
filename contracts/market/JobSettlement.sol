// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Blockhash} from "@openzeppelin/contracts/utils/Blockhash.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {EncodedJob, JobCodec} from "./JobCodec.sol";
import {JobMarket} from "./JobMarket.sol";
import {Roster} from "./Roster.sol";
import {Job, JobStatus, MAX_REOPENS, Outcome, VerificationMode, VoteReason} from "./Types.sol";
import {Ballot, SeatVote} from "./Votes.sol";

/// @title Settling jobs: finalize with the committee's signed votes, expire after a missed deadline
/// @notice Every path moves each escrowed and slashed token to a balance, back into the job's escrow (reopen),
/// or back to the requester, except an accepted job's protocol fee, which is burned; nothing is pushed, and the
/// only call out is that burn, last, into CrowdToken (which has no hooks).
abstract contract JobSettlement is JobMarket {
    /// @dev What the seats said, as bit masks over seat numbers, and who holds each seat.
    struct Tally {
        uint256 approved;
        uint256 rejected;
        uint256 excluded; // seats held by the job's requester: they neither vote, count, earn nor lose
        address[] holders;
    }

    /// @inheritdoc IJobMarket
    function finalize(uint256 jobId, Job calldata job, SeatVote[] calldata seats) external {
        EncodedJob encoded = _verify(jobId, job, _wordOf(jobId), JobStatus.Submitted);
        uint256 seedBlock = _seedBlock(encoded.submitBlock());
        uint256 lastBlock;
        // a 64-bit block number plus a 16-bit window
        unchecked {
            lastBlock = seedBlock + encoded.verifyBlocks();
        }

        if (encoded.mode() == VerificationMode.None) {
            if (seats.length != 0) revert SeatCountMismatch(jobId, seats.length, 0);
            if (block.number <= lastBlock) revert VerificationPending(jobId, lastBlock);
            emit JobFinalized(jobId, Outcome.Accepted, 0, 0);
            // Nothing was checked: no reward (mode None reserves none anyway).
            _accept(jobId, encoded, 0, false);
            _burnFee(encoded);
            return;
        }
        if (block.number <= seedBlock) revert VerificationPending(jobId, lastBlock);

        // Seats exist only with a roster to draw from and a seed still readable; otherwise nobody can prove one
        // and the job closes Unverified once the window is over.
        bytes32 root = encoded.rosterRoot();
        uint256 total = Roster.sumOf(root);
        bytes32 seedHash = Blockhash.blockHash(seedBlock);
        uint256 size = total == 0 || seedHash == 0 ? 0 : encoded.committeeSize();
        if (seats.length != size) revert SeatCountMismatch(jobId, seats.length, size);
        Tally memory tally = _tally(jobId, encoded, _seedFrom(seedHash, jobId), root, seats);

        uint256 approvals = _count(tally.approved);
        uint256 rejections = _count(tally.rejected);
        // The requester's own seats are set aside: it could otherwise block every majority by staying silent and
        // get the work for free. What is left is the committee that decides.
        uint256 judges = size - _count(tally.excluded);
        // Votes are revealed together: before the window ends only when no seat is left to vote.
        if (block.number <= lastBlock && (size == 0 || approvals + rejections < judges)) {
            revert VerificationPending(jobId, lastBlock);
        }

        // A side needs a majority of the committee's seats, not of the votes cast. A committee made only of the
        // requester's seats cannot judge its own job: the provider is paid (without a reward: nothing was checked).
        if (size != 0 && judges == 0) {
            emit JobFinalized(jobId, Outcome.Accepted, 0, 0);
            _accept(jobId, encoded, 0, false);
            _burnFee(encoded);
        } else if (approvals * 2 > judges) {
            emit JobFinalized(jobId, Outcome.Accepted, uint8(approvals), uint8(rejections));
            uint256 paid = _settleSeats(jobId, encoded, tally, tally.approved);
            // A majority of the deciding seats approved: the work was verified and earns its reward.
            _accept(jobId, encoded, paid, true);
            _burnFee(encoded);
        } else if (rejections * 2 > judges) {
            emit JobFinalized(jobId, Outcome.Rejected, uint8(approvals), uint8(rejections));
            _slashCollateral(encoded.provider(), jobId, encoded.collateral());
            uint256 paid = _settleSeats(jobId, encoded, tally, tally.rejected);
            // paid <= committeeSize fees <= collateral; budget plus at most 15 fees of 96 bits
            unchecked {
                uint256 spentFees = paid * encoded.validatorFee();
                _fail(jobId, encoded, spentFees, encoded.fullEscrow() - spentFees);
            }
        } else {
            emit JobFinalized(jobId, Outcome.Unverified, uint8(approvals), uint8(rejections));
            uint256 paid = _settleSeats(jobId, encoded, tally, tally.approved | tally.rejected);
            _deleteJob(jobId);
            _releaseCollateral(encoded.provider(), encoded.collateral(), 0, 0);
            _releaseReward(encoded.reward());
            // at most 15 fees of 96 bits, within the escrow
            unchecked {
                _credit(encoded.requester(), jobId, encoded.fullEscrow() - paid * encoded.validatorFee());
            }
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

    /// @dev Checks every seat against the roster snapshot and the seed, and every vote's signature; emits the votes.
    function _tally(uint256 jobId, EncodedJob encoded, bytes32 seed, bytes32 root, SeatVote[] calldata seats)
        private
        returns (Tally memory tally)
    {
        uint256 total = Roster.sumOf(root);
        bytes32 resultHash = encoded.resultHash();
        address requester = encoded.requester();
        tally.holders = new address[](seats.length);
        for (uint256 seat; seat < seats.length; ++seat) {
            SeatVote calldata vote = seats[seat];
            address holder = vote.validator;
            (bool valid, uint256 offset) = Roster.verify(root, vote.leaf, holder, vote.weight, vote.siblings);
            if (!valid || !Roster.holdsSeat(seed, seat, total, offset, vote.weight)) {
                revert NotSeatHolder(jobId, seat, holder);
            }
            tally.holders[seat] = holder;
            uint256 bit = 1 << seat;
            if (holder == requester) {
                // The requester profits from a rejection; its seat counts against both sides and earns nothing.
                tally.excluded |= bit;
                continue;
            }
            Ballot ballot = vote.ballot;
            if (ballot == Ballot.Silent) continue;
            bool approve = ballot == Ballot.Approve;
            // A finding against the provider (withheld result, bad commitment, false capability) is a rejection.
            if (approve && vote.evidence.reason != VoteReason.Recomputed) {
                revert VoteReasonNeedsRejection(jobId, vote.evidence.reason);
            }
            // slither-disable-next-line unused-return the third value is the failure's detail; any failure is an invalid vote
            (address signer, ECDSA.RecoverError failure,) =
                ECDSA.tryRecover(_voteDigest(jobId, resultHash, seat, approve, vote.evidence), vote.r, vote.vs);
            if (failure != ECDSA.RecoverError.NoError || signer != holder) revert InvalidVoteSignature(jobId, seat);
            if (approve) tally.approved |= bit;
            else tally.rejected |= bit;
            emit VoteCast(jobId, holder, uint8(seat), approve, vote.evidence);
        }
    }

    /// @dev Pays each winning seat its fee and an equal share of the bonds the other seats lose (silent seats and
    /// the losing side; the requester's seats neither pay nor earn). Division dust goes to the first winner; with no
    /// winner the bonds go to the provider. Returns the number of seats paid a fee.
    function _settleSeats(uint256 jobId, EncodedJob encoded, Tally memory tally, uint256 winners)
        private
        returns (uint256 paid)
    {
        uint256 seats = tally.holders.length;
        uint256 losers = ((1 << seats) - 1) & ~winners & ~tally.excluded;
        uint96 bond = _seatBond(encoded.budget(), encoded.committeeSize());
        uint256 pool = 0;
        for (uint256 seat; losers >> seat != 0; ++seat) {
            if ((losers >> seat) & 1 == 1) pool += _slashBonded(tally.holders[seat], jobId, bond);
        }
        paid = _count(winners);
        if (paid == 0) {
            // Nobody voted: the provider did work nobody judged. (Crediting the requester would hand a requester's
            // own silent sybils their bonds back.)
            if (pool != 0) _credit(encoded.provider(), jobId, pool);
            return 0;
        }
        uint256 fee = encoded.validatorFee();
        uint256 share = pool / paid;
        // slither-disable-next-line divide-before-multiply -- the remainder of the split is the point: dust to the first winner
        uint256 dust = pool - share * paid;
        for (uint256 seat; winners >> seat != 0; ++seat) {
            if ((winners >> seat) & 1 == 0) continue;
            uint256 amount = fee + share + dust;
            dust = 0;
            if (amount != 0) _credit(tally.holders[seat], jobId, amount);
        }
    }

    /// @dev A seat's bond: the budget shared by a majority of the committee (`budget / ((size + 1) / 2)`), at least
    /// the configured minimum. Keeping a committee from deciding takes `(size + 1) / 2` silent seats, so it costs
    /// at least the budget: silence cannot buy a requester its work for free.
    function _seatBond(uint96 budget, uint256 committeeSize) private view returns (uint96) {
        uint96 floor = _validatorSlashAmount();
        // committeeSize is odd and at least 1 here, so the divisor is at least 1
        uint256 scaled = uint256(budget) / ((committeeSize + 1) / 2);
        return scaled > floor ? uint96(scaled) : floor;
    }

    /// @dev Closes an accepted job: the provider is paid and its collateral released; the reward is owed only for
    /// verified work (within the epoch's cap), else returned to the emission budget; fees of seats that were not
    /// paid go back to the requester. The protocol fee stays for `_burnFee`.
    function _accept(uint256 jobId, EncodedJob encoded, uint256 paidSeats, bool verified) private {
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
        // fullEscrow = budget + protocolFee + committeeSize * fee >= budget + protocolFee + paid fees
        unchecked {
            unusedFees = encoded.fullEscrow() - budget - encoded.protocolFee() - paidSeats * encoded.validatorFee();
        }
        if (unusedFees != 0) _credit(encoded.requester(), jobId, unusedFees);
    }

    /// @dev Burns an accepted job's protocol fee: the last step, the only call out (into CrowdToken, no hooks).
    function _burnFee(EncodedJob encoded) private {
        uint96 fee = encoded.protocolFee();
        if (fee != 0) _burnTokens(fee);
    }

    /// @dev After the provider's collateral was slashed: reopen the job, or close it and credit the requester.
    /// On reopen the collateral first restores `spentFees` (fees this attempt paid) to the escrow, so the
    /// reopened job again holds `budget + committeeSize * validatorFee`; the rest goes to the requester.
    /// `collateral >= committeeSize * validatorFee >= spentFees` is enforced at post.
    /// @param spentFees Fees credited to seats during this attempt.
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
            _storeJob(jobId, JobCodec.word(encoded.hash(), JobStatus.Open));
            emit JobReopened(jobId, attempts);
            if (compensation != 0) _credit(requester, jobId, compensation);
        } else {
            _deleteJob(jobId);
            _releaseReward(encoded.reward());
            _credit(requester, jobId, escrowLeft + collateral);
        }
    }

    /// @dev Number of set bits (seat masks have at most `MAX_COMMITTEE_SIZE` bits).
    function _count(uint256 mask) private pure returns (uint256 count) {
        while (mask != 0) {
            mask &= mask - 1;
            ++count;
        }
    }
}
