// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Blockhash} from "@openzeppelin/contracts/utils/Blockhash.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IKeyRelease} from "../interfaces/IKeyRelease.sol";
import {EncodedJob, JobCodec} from "./JobCodec.sol";
import {JobMarket} from "./JobMarket.sol";
import {KeyRelease} from "./KeyRelease.sol";
import {Roster} from "./Roster.sol";
import {
    FINAL_ROUND,
    Job,
    JobStatus,
    MAX_REOPENS,
    Outcome,
    ReleaseReason,
    ROUND_1_SEATS,
    ROUND_2_SEATS,
    VerificationMode,
    VoteReason
} from "./Types.sol";
import {Ballot, SeatVote} from "./Votes.sol";

/// @title Settling jobs: finalize or appeal with a round's signed votes, expire after a missed deadline
/// @notice Every path moves each escrowed and slashed token to a balance, back into the job's escrow (reopen),
/// or back to the requester, except an accepted job's protocol fee, which is set aside to be burned (`burnFees`,
/// many jobs' fees in one call); nothing is pushed, and nothing here calls out.
abstract contract JobSettlement is JobMarket {
    /// @dev What the seats said, as bit masks over seat numbers, and who holds each seat. A counted vote (approved
    /// or rejected) has its seat's bond locked from its holder's stake until the job settles.
    struct Tally {
        uint256 approved;
        uint256 rejected;
        uint256 excluded; // seats held by the job's requester: they neither vote, count, earn nor lose
        uint256 unbacked; // votes whose holder's free stake could not lock the bond: they do not count
        uint256 unbackedApprovals; // which of those approved (an unbacked vote on the losing side still pays)
        address[] holders;
    }

    /// @dev An appealed round, kept until the final round settles its seats.
    struct AppealedRound {
        address appellant;
        uint96 bond;
        Tally tally;
    }

    mapping(uint256 jobId => AppealedRound[] rounds) private _appealedRounds;

    /// @dev Sealed keys of confidential jobs live in their own contract (this one is near EIP-170's limit).
    IKeyRelease private immutable _keyRelease;

    constructor() {
        _keyRelease = new KeyRelease(address(this));
    }

    /// @inheritdoc IJobMarket
    function finalize(uint256 jobId, Job calldata job, SeatVote[] calldata seats) external {
        EncodedJob encoded = _verify(jobId, job, _wordOf(jobId), JobStatus.Submitted);
        uint256 seedBlock = _seedBlock(encoded.submitBlock());
        uint256 window = encoded.verifyBlocks();
        uint256 lastBlock;
        // a 64-bit block number plus a 16-bit window
        unchecked {
            lastBlock = seedBlock + window;
        }

        if (encoded.mode() == VerificationMode.None) {
            if (seats.length != 0) revert SeatCountMismatch(jobId, seats.length, 0);
            if (block.number <= lastBlock) revert VerificationPending(jobId, lastBlock);
            emit JobFinalized(jobId, Outcome.Accepted, 0, 0);
            // Nothing was checked: no reward (mode None reserves none anyway).
            _accept(jobId, encoded, 0, false);
            return;
        }
        if (block.number <= seedBlock) revert VerificationPending(jobId, lastBlock);

        Tally memory tally = _roundTally(jobId, encoded, seedBlock, seats);
        uint256 size = tally.holders.length;
        uint256 approvals = _count(tally.approved);
        uint256 rejections = _count(tally.rejected);
        // The requester's own seats are set aside: it could otherwise block every majority by staying silent and
        // get the work for free. What is left is the committee that decides.
        uint256 judges = size - _count(tally.excluded);
        if (encoded.round() < FINAL_ROUND) {
            // Below the final round a decision stands only once nobody appealed it in time.
            // lastBlock + window stays far below 2^256
            unchecked {
                lastBlock += window;
            }
            // Except a unanimous acceptance that the requester settles itself: no seat lost and the provider
            // won, so the requester is the only party left who may appeal, and it waives that by sending this.
            bool waived = msg.sender == encoded.requester() && judges != 0 && approvals == judges;
            if (block.number <= lastBlock && !waived) revert VerificationPending(jobId, lastBlock);
        } else if (block.number <= lastBlock && (size == 0 || approvals + rejections + _count(tally.unbacked) < judges))
        {
            // The final round's votes are revealed together: before its window ends only when every seat voted.
            revert VerificationPending(jobId, lastBlock);
        }

        Outcome outcome = _decision(approvals, rejections, judges, size);
        emit JobFinalized(jobId, outcome, uint8(approvals), uint8(rejections));
        uint256 paid = _settleSeats(jobId, encoded, tally, outcome);
        if (outcome == Outcome.Accepted) {
            // Verified work (a majority of deciding seats approved) earns its reward; a committee made only of the
            // requester's seats cannot judge its own job, so the provider is paid without one.
            _accept(jobId, encoded, paid, judges != 0);
        } else if (outcome == Outcome.Rejected) {
            _slashCollateral(encoded.provider(), jobId, encoded.collateral());
            // paid <= committeeSize fees <= collateral; budget plus at most 15 fees of 96 bits
            unchecked {
                uint256 spentFees = paid * encoded.validatorFee();
                _fail(jobId, encoded, spentFees, encoded.fullEscrow() - spentFees, encoded.collateral());
            }
        } else {
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
    function appeal(uint256 jobId, Job calldata job, SeatVote[] calldata seats) external {
        EncodedJob encoded = _verify(jobId, job, _wordOf(jobId), JobStatus.Submitted);
        uint256 round = encoded.round();
        if (encoded.mode() == VerificationMode.None || round >= FINAL_ROUND) revert NoFurtherAppeal(jobId);
        uint256 seedBlock = _seedBlock(encoded.submitBlock());
        uint256 window = encoded.verifyBlocks();
        uint256 opens;
        // a 64-bit block number plus two 16-bit windows
        unchecked {
            opens = seedBlock + window + 1;
            if (block.number < opens || block.number >= opens + window) {
                revert AppealNotOpen(jobId, opens, opens + window - 1);
            }
        }
        Tally memory tally = _roundTally(jobId, encoded, seedBlock, seats);
        Outcome decided = _decisionOf(tally);
        if (msg.sender != encoded.requester() && msg.sender != encoded.provider()) {
            // A seat may appeal only a decision its vote lost (when nothing was decided, every voter lost).
            uint256 voters = tally.approved | tally.rejected;
            uint256 lost = decided == Outcome.Unverified ? voters : voters & ~_winners(tally, decided);
            bool entitled = false;
            for (uint256 seat; lost >> seat != 0; ++seat) {
                if ((lost >> seat) & 1 == 1 && tally.holders[seat] == msg.sender) entitled = true;
            }
            if (!entitled) revert NotEntitledToAppeal(jobId, msg.sender);
        }

        // round < FINAL_ROUND; the next round's fees: at most 193 fees of 96 bits
        uint256 bond;
        unchecked {
            ++round;
            bond = _roundSize(encoded.committeeSize(), round) * encoded.validatorFee();
        }
        uint96 floor = _validatorSlashAmount();
        if (bond < floor) bond = floor;
        // A bond that does not fit in 96 bits cannot be paid (the supply fits in 96 bits): the pull reverts below.
        _appealedRounds[jobId].push(AppealedRound(msg.sender, uint96(bond), tally));
        bytes32 roster = _rosterRoot();
        encoded.setAppeal(uint8(round), uint64(block.number), roster);
        _storeJob(jobId, JobCodec.word(encoded.hash(), JobStatus.Submitted));
        emit JobAppealed(jobId, uint8(round), msg.sender, uint96(bond), roster);
        _pullFromCaller(bond);
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
        _fail(jobId, encoded, 0, encoded.fullEscrow(), collateral);
    }

    /// @inheritdoc IJobMarket
    function releaseClaim(uint256 jobId, Job calldata job) external {
        EncodedJob encoded = _loadJob(jobId, job, JobStatus.Claimed);
        address provider = encoded.provider();
        if (msg.sender != provider) revert NotJobProvider(jobId, msg.sender, provider);
        if (encoded.resultKey() == 0) revert NotConfidential(jobId);
        uint64 deadline = encoded.deadline();
        if (block.timestamp > deadline) revert SubmitDeadlinePassed(jobId, deadline);
        uint96 collateral = encoded.collateral();
        // A static call into the KeyRelease this market deployed: nothing can re-enter.
        if (!_keyRelease.keyReleased(jobId, provider, deadline)) {
            // The requester never released the key: nobody is at fault, the job goes back as it was.
            _releaseCollateral(provider, collateral, 0, 0);
            encoded.resetState(encoded.attempts());
            _storeJob(jobId, JobCodec.word(encoded.hash(), JobStatus.Open));
            emit ClaimReleased(jobId, provider, ReleaseReason.KeyNotReleased, 0);
            return;
        }
        // A key was released: either the provider read the data and walks away, or the requester sealed garbage.
        // Burning the collateral makes the first cost everything and the second gain nothing.
        _slashCollateral(provider, jobId, collateral);
        _setAsideFee(collateral);
        emit ClaimReleased(jobId, provider, ReleaseReason.KeyRefused, collateral);
        _fail(jobId, encoded, 0, encoded.fullEscrow(), 0);
    }

    /// @inheritdoc IJobMarket
    function keyRelease() external view returns (address) {
        return address(_keyRelease);
    }

    /// @dev Checks every seat against the roster snapshot and the seed, and every vote's signature; emits the votes.
    function _tally(
        uint256 jobId,
        EncodedJob encoded,
        bytes32 seed,
        bytes32 root,
        uint96 bond,
        SeatVote[] calldata seats
    ) private returns (Tally memory tally) {
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
            (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(
                _voteDigest(jobId, encoded.round(), resultHash, seat, approve, vote.evidence), vote.r, vote.vs
            );
            if (failure != ECDSA.RecoverError.NoError || signer != holder) revert InvalidVoteSignature(jobId, seat);
            // One stake cannot back many seats: a vote counts only with its bond locked from free stake. An unbacked
            // vote keeps a majority from forming, like silence, and earns nothing; its holder pays the bond from
            // what it has (free, then unbonding stake) only if the vote ends on the losing side.
            if (!_lockBond(holder, bond)) {
                tally.unbacked |= bit;
                if (approve) tally.unbackedApprovals |= bit;
                emit SeatUnbacked(jobId, holder, uint8(seat), bond);
                continue;
            }
            if (approve) tally.approved |= bit;
            else tally.rejected |= bit;
            emit VoteCast(jobId, holder, uint8(seat), approve, vote.evidence);
        }
    }

    /// @dev The current round's seats, checked; no seats when the round has no roster or its seed is gone.
    /// The round's size is `tally.holders.length`.
    function _roundTally(uint256 jobId, EncodedJob encoded, uint256 seedBlock, SeatVote[] calldata seats)
        private
        returns (Tally memory)
    {
        bytes32 root = encoded.rosterRoot();
        bytes32 seedHash = Blockhash.blockHash(seedBlock);
        // Seats exist only with a roster to draw from and a seed still readable; otherwise nobody can prove one.
        uint256 size = 0;
        if (Roster.sumOf(root) != 0 && seedHash != 0) size = _roundSize(encoded.committeeSize(), encoded.round());
        if (seats.length != size) revert SeatCountMismatch(jobId, seats.length, size);
        uint96 bond = _seatBond(encoded.budget(), _roundSize(encoded.committeeSize(), encoded.round()));
        return _tally(jobId, encoded, _seedFrom(seedHash, jobId), root, bond, seats);
    }

    /// @dev Pays every round's winning seats (those that voted with the final `outcome`; every voter when it is
    /// Unverified) and takes every other seat's bond (silent seats and the losing side; the requester's seats
    /// neither pay nor earn). An appellant whose appeal the outcome bore out gets its bond back. The pool of taken
    /// bonds, plus the bonds of the other appeals, pays the appeal rounds' fees (as far as it goes), and the rest is
    /// shared equally among the winners: dust to the first; with no winner, to the provider.
    /// Returns the number of round-0 seats paid a fee (that fee comes from the job's escrow).
    function _settleSeats(uint256 jobId, EncodedJob encoded, Tally memory last, Outcome outcome)
        private
        returns (uint256 escrowPaid)
    {
        uint256 appeals = encoded.round();
        AppealedRound[] storage history = _appealedRounds[jobId];
        Tally[] memory tallies = new Tally[](appeals + 1);
        uint256 pool = 0;
        uint256 laterWinners = 0;
        for (uint256 round; round <= appeals; ++round) {
            Tally memory tally = round == appeals ? last : history[round].tally;
            tallies[round] = tally;
            uint256 won = _winners(tally, outcome);
            pool += _settleBonds(jobId, encoded, tally, round, outcome, true);
            if (round == 0) escrowPaid = _count(won);
            else laterWinners += _count(won);
            if (round == appeals) break;
            // An appeal the outcome bore out gets its bond back; any other bond pays for the appeals.
            AppealedRound storage appealed = history[round];
            if (_decisionOf(tally) == outcome) pool += appealed.bond;
            else _credit(appealed.appellant, jobId, appealed.bond);
        }
        if (appeals != 0) delete _appealedRounds[jobId];
        // Bonds paid from free stake come after every locked bond of the job was released.
        for (uint256 round; round <= appeals; ++round) {
            pool += _settleBonds(jobId, encoded, tallies[round], round, outcome, false);
        }

        uint256 fee = encoded.validatorFee();
        uint256 winners = escrowPaid + laterWinners;
        if (winners == 0) {
            // Nobody voted: the provider did work nobody judged. (Crediting the requester would hand a requester's
            // own silent sybils their bonds back.)
            if (pool != 0) _credit(encoded.provider(), jobId, pool);
            return 0;
        }
        // Appeal rounds' fees come from the pool, as far as it goes.
        uint256 laterFee = laterWinners == 0 || fee * laterWinners <= pool ? fee : pool / laterWinners;
        // slither-disable-next-line divide-before-multiply -- a capped fee is the pool split evenly; the remainder stays in the pool
        pool -= laterFee * laterWinners;
        uint256 share = pool / winners;
        // slither-disable-next-line divide-before-multiply -- the remainder of the split is the point: dust to the first winner
        uint256 dust = pool - share * winners;
        for (uint256 round; round <= appeals; ++round) {
            Tally memory tally = tallies[round];
            uint256 won = _winners(tally, outcome);
            uint256 amount = (round == 0 ? fee : laterFee) + share;
            for (uint256 seat; won >> seat != 0; ++seat) {
                if ((won >> seat) & 1 == 0) continue;
                if (amount + dust != 0) _credit(tally.holders[seat], jobId, amount + dust);
                dust = 0;
            }
        }
    }

    /// @dev Settles a round's seat bonds in two passes. Locked (`locked`): the counted votes that won are released
    /// and those that lost are taken. Free: silent seats, and unbacked votes on the losing side, pay the bond from
    /// what their holders have free, then unbonding. The requester's seats neither pay nor earn. Returns what was
    /// taken.
    function _settleBonds(
        uint256 jobId,
        EncodedJob encoded,
        Tally memory tally,
        uint256 round,
        Outcome outcome,
        bool locked
    ) private returns (uint256 taken) {
        uint96 bond = _seatBond(encoded.budget(), _roundSize(encoded.committeeSize(), round));
        uint256 won = _winners(tally, outcome);
        uint256 counted = tally.approved | tally.rejected;
        uint256 seats = counted;
        if (!locked) {
            uint256 unbackedLost = 0;
            if (outcome == Outcome.Accepted) unbackedLost = tally.unbacked & ~tally.unbackedApprovals;
            if (outcome == Outcome.Rejected) unbackedLost = tally.unbackedApprovals;
            seats = (((1 << tally.holders.length) - 1) & ~tally.excluded & ~counted & ~tally.unbacked) | unbackedLost;
        }
        for (uint256 seat; seats >> seat != 0; ++seat) {
            if ((seats >> seat) & 1 == 0) continue;
            address holder = tally.holders[seat];
            if (!locked) {
                taken += _slashBonded(holder, jobId, bond);
            } else if ((won >> seat) & 1 == 1) {
                _releaseCollateral(holder, bond, 0, 0);
            } else {
                _slashCollateral(holder, jobId, bond);
                taken += bond;
            }
        }
    }

    /// @dev The seats that voted with `outcome`: the approvals, the rejections, or every voter when Unverified.
    function _winners(Tally memory tally, Outcome outcome) private pure returns (uint256) {
        if (outcome == Outcome.Accepted) return tally.approved;
        if (outcome == Outcome.Rejected) return tally.rejected;
        return tally.approved | tally.rejected;
    }

    /// @dev What a round decided: a side needs a strict majority of the deciding seats (`judges`, the `size` seats
    /// less the requester's). A committee made only of the requester's seats accepts (it cannot judge its own job);
    /// no seats at all, or no majority, decide nothing.
    function _decision(uint256 approvals, uint256 rejections, uint256 judges, uint256 size)
        private
        pure
        returns (Outcome)
    {
        if (approvals * 2 > judges || (size != 0 && judges == 0)) return Outcome.Accepted;
        if (rejections * 2 > judges) return Outcome.Rejected;
        return Outcome.Unverified;
    }

    /// @dev What a round's seats decided.
    function _decisionOf(Tally memory tally) private pure returns (Outcome) {
        uint256 size = tally.holders.length;
        return _decision(_count(tally.approved), _count(tally.rejected), size - _count(tally.excluded), size);
    }

    /// @dev Seats in round `round`: the requester's committee, then `ROUND_1_SEATS` and `ROUND_2_SEATS`.
    function _roundSize(uint256 committeeSize, uint256 round) private pure returns (uint256) {
        if (round == 0) return committeeSize;
        return round == 1 ? ROUND_1_SEATS : ROUND_2_SEATS;
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
    /// paid go back to the requester. The protocol fee is set aside for `burnFees`.
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
        _setAsideFee(encoded.protocolFee());
        uint256 unusedFees;
        // fullEscrow = budget + protocolFee + committeeSize * fee >= budget + protocolFee + paid fees
        unchecked {
            unusedFees = encoded.fullEscrow() - budget - encoded.protocolFee() - paidSeats * encoded.validatorFee();
        }
        if (unusedFees != 0) _credit(encoded.requester(), jobId, unusedFees);
    }

    /// @dev After the provider's collateral was slashed: reopen the job, or close it and credit the requester.
    /// On reopen the collateral first restores `spentFees` (fees this attempt paid) to the escrow, so the
    /// reopened job again holds `budget + committeeSize * validatorFee`; the rest goes to the requester.
    /// `collateral >= committeeSize * validatorFee >= spentFees` is enforced at post.
    /// @param spentFees Fees credited to seats during this attempt.
    /// @param escrowLeft What the job's escrow still holds.
    /// @param collateral The slashed collateral the requester side receives (0 when it is burned instead; then
    /// `spentFees` must be 0).
    function _fail(uint256 jobId, EncodedJob encoded, uint256 spentFees, uint256 escrowLeft, uint256 collateral)
        private
    {
        address requester = encoded.requester();
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
