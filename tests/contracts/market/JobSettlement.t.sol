// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {
    Account,
    Evidence,
    Job,
    JobSpec,
    JobStatus,
    Outcome,
    VerificationMode,
    VoteReason
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Finalizing with the committee's signed seats, expiring after a missed deadline, reopening, and seat
/// bonds. Seats are drawn by stake with replacement, so expectations are computed seat by seat (`_settled`).
contract JobSettlementTest is Fixture {
    /// @dev Every known validator's stake, unbonding and balance, before a finalize.
    struct Before {
        address[] holders;
        uint256[] stake;
        uint256[] unbonding;
        uint256[] balance;
        uint256 requesterBalance;
    }

    // ------------------------------------------------------------------ accepted

    function test_finalize_acceptsUnanimousSeatsAndPaysProviderAndFees() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Approve, 3);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job); // past the appeal window: the decision stands
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 3, 0);
        vm.expectEmit(address(market));
        emit IJobMarket.ProviderPaid(jobId, provider, job.spec.budget, job.spec.reward);
        market.finalize(jobId, job, seats); // before the window closes: every seat voted

        Account memory paid = _account(provider);
        assertEq(paid.balance, job.spec.budget, "payment");
        assertEq(paid.rewardOwed, job.spec.reward, "reward owed");
        assertEq(paid.locked, 0, "collateral released");
        assertEq(paid.stake, PROVIDER_STAKE, "stake intact");
        assertEq(_account(requester).balance, 0, "no unused fees");
        assertEq(market.jobWord(jobId), 0, "word deleted");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
        _settled(before, jobId, job, ballots, Outcome.Accepted);
    }

    function test_finalize_emitsEveryRevealedVote() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Reject, Ballot.Approve));
        _closeWindow(job); // past the appeal window: the decision stands
        for (uint256 seat; seat < 3; ++seat) {
            vm.expectEmit(address(market));
            emit IJobMarket.VoteCast(jobId, holders[seat], uint8(seat), seat != 1, _evidence(seat));
        }
        market.finalize(jobId, job, seats);
    }

    function test_finalize_slashesRejectersBondAndSharesItWithWinners() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Approve, Ballot.Reject, Ballot.Approve);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job); // past the appeal window: the decision stands
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 2, 1);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(holders[1], jobId, _bond(job));
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).balance, job.spec.budget, "provider paid");
        _settled(before, jobId, job, ballots, Outcome.Accepted);
    }

    function test_finalize_silentSeatLosesBondAndItsFeeReturnsToRequester() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Approve, Ballot.Approve, Ballot.Silent);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 2, 0);
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).balance, job.spec.budget, "provider paid");
        assertEq(_account(requester).balance, job.spec.validatorFee, "silent seat's fee back");
        _settled(before, jobId, job, ballots, Outcome.Accepted);
    }

    function test_finalize_takesBondFromUnbondingWhenStakeIsShort() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        vm.assume(holders[2] != holders[0] && holders[2] != holders[1]);
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Reject));
        _closeWindow(job); // past the appeal window: the decision stands
        // Stake that leaves after the submission cannot move a seat, nor escape its bond.
        vm.prank(holders[2]);
        market.requestUnbond(VALIDATOR_STAKE - 40e18);
        market.finalize(jobId, job, seats);
        Account memory loser = _account(holders[2]);
        assertEq(loser.stake, 0, "stake taken");
        assertEq(loser.unbonding, VALIDATOR_STAKE - 40e18 - (_bond(job) - 40e18), "rest from unbonding");
    }

    function test_finalize_givesDivisionDustToLowestWinningSeat() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        vm.assume(holders[1] != holders[0] && holders[1] != holders[2] && holders[0] != holders[2]);
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Reject, Ballot.Approve));
        _closeWindow(job); // past the appeal window: the decision stands
        // The loser leaves 3 wei bonded and withdraws the rest: 3 = 2 * 1 + 1 of dust.
        vm.prank(holders[1]);
        market.requestUnbond(VALIDATOR_STAKE - 3);
        _wait(UNBONDING_DELAY);
        vm.prank(holders[1]);
        market.withdrawUnbonded();
        market.finalize(jobId, job, seats);
        assertEq(_account(holders[0]).balance, job.spec.validatorFee + 2, "lowest seat takes the dust");
        assertEq(_account(holders[2]).balance, job.spec.validatorFee + 1, "even share");
    }

    // ------------------------------------------------------------------ rejected

    function test_finalize_rejectsAndCompensatesRequester() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Reject, 3);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job); // past the appeal window: the decision stands
        uint256 fees = 3 * uint256(job.spec.validatorFee);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Rejected, 0, 3);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(provider, jobId, job.spec.collateral);
        market.finalize(jobId, job, seats);

        Account memory slashed = _account(provider);
        assertEq(slashed.stake, PROVIDER_STAKE - job.spec.collateral, "collateral slashed");
        assertEq(slashed.locked, 0, "nothing locked");
        assertEq(slashed.balance, 0, "unpaid");
        assertEq(_account(requester).balance, _escrowOf(job.spec) - fees + job.spec.collateral, "refund");
        assertEq(market.rewardsRemaining(), remaining, "reward released");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
        _settled(before, jobId, job, ballots, Outcome.Rejected);
    }

    function test_finalize_slashesApproversBondWhenRejected() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Reject, Ballot.Approve, Ballot.Reject);
        _closeWindow(job); // past the appeal window: the decision stands
        market.finalize(jobId, job, _seats(jobId, job, ballots));
        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "provider slashed");
        _settled(before, jobId, job, ballots, Outcome.Rejected);
    }

    function test_finalize_reopensRejectedJobAndRestoresFees() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(spec);
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Reject, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        uint256 held = _totalHeld();
        vm.expectEmit(address(market));
        emit IJobMarket.JobReopened(jobId, 1);
        market.finalize(jobId, job, seats);

        job = _reopened(job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open again");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        uint256 spent = 3 * uint256(spec.validatorFee);
        assertEq(_account(requester).balance, spec.collateral - spent, "collateral less restored fees");
        // The collateral pays the winners' fees and the rest to the requester: the escrow stays whole.
        assertEq(_totalHeld(), held, "collateral split between the seats and the requester");
        assertEq(market.rewardsRemaining(), remaining - job.spec.reward, "reward stays reserved");

        // The reopened job holds its full escrow: cancelling it refunds everything the requester paid.
        uint256 wallet = token.balanceOf(requester);
        vm.prank(requester);
        market.cancelJob(jobId, job);
        assertEq(token.balanceOf(requester) - wallet, _escrowOf(spec), "full escrow");
    }

    function test_finalize_closesAfterMaxReopens() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        (uint256 jobId, Job memory job) = _post(spec);
        for (uint256 attempt; attempt <= 3; ++attempt) {
            job = _claim(jobId, job, provider);
            job = _submit(jobId, job);
            _mine(2);
            _finalize(jobId, job, _ballots(Ballot.Reject, 3));
            if (attempt < 3) {
                assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "reopened");
                job = _reopened(job);
                assertEq(job.state.attempts, attempt + 1, "attempts");
            }
        }
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed after MAX_REOPENS");
        uint256 compensation = 4 * uint256(spec.collateral) - 3 * 3 * uint256(spec.validatorFee);
        assertEq(
            _account(requester).balance,
            compensation + spec.budget + _expectedFee(spec.budget),
            "refund (the protocol fee included) and compensation"
        );
    }

    // ------------------------------------------------------------------ unverified

    function test_finalize_loneApprovalWithSilentSeatsDecidesNothing() public {
        _loneVoteDecidesNothing(Ballot.Approve);
    }

    function test_finalize_loneRejectionWithSilentSeatsDecidesNothing() public {
        _loneVoteDecidesNothing(Ballot.Reject);
    }

    function test_finalize_unverifiedWithoutMajoritySlashesSilentSeatOnly() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Approve, Ballot.Reject, Ballot.Silent);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, 1, 1);
        market.finalize(jobId, job, seats);

        assertEq(_account(provider).stake, PROVIDER_STAKE, "provider not slashed");
        assertEq(_account(provider).locked, 0, "collateral released");
        assertEq(_account(provider).balance, 0, "unpaid");
        assertEq(
            _account(requester).balance, _escrowOf(job.spec) - 2 * uint256(job.spec.validatorFee), "escrow less fees"
        );
        assertEq(market.rewardsRemaining(), remaining, "reward released");
        _settled(before, jobId, job, ballots, Outcome.Unverified);
    }

    function test_finalize_unverifiedWhenEverySeatIsSilentSendsBondsToProvider() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Silent, 3);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job);
        market.finalize(jobId, job, seats);
        assertEq(_account(requester).balance, _escrowOf(job.spec), "the escrow back, no bonds");
        assertEq(_account(provider).balance, 3 * uint256(_bond(job)), "the unjudged provider gets the bonds");
        _settled(before, jobId, job, ballots, Outcome.Unverified);
    }

    function test_finalize_unverifiedWithZeroSeatsWithoutRoster() public {
        for (uint256 i; i < VALIDATORS; ++i) {
            vm.prank(validators[i]);
            market.requestUnbond(VALIDATOR_STAKE);
        }
        assertEq(market.validatorCount(), 0, "empty roster");
        (uint256 jobId, Job memory job) = _submitted(_spec());
        assertEq(uint256(job.state.rosterRoot), 0, "empty snapshot");
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeatCountMismatch.selector, jobId, 1, 0));
        market.finalize(jobId, job, new SeatVote[](1));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, _settleBlock(job)));
        market.finalize(jobId, job, new SeatVote[](0));
        _closeWindow(job);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, 0, 0);
        market.finalize(jobId, job, new SeatVote[](0));
        assertEq(_account(requester).balance, _escrowOf(job.spec), "whole escrow back");
        assertEq(_account(provider).stake, PROVIDER_STAKE, "provider not slashed");
        assertEq(_account(provider).locked, 0, "collateral released");
    }

    function test_finalize_unverifiedWithZeroSeatsOnceSeedIsGone() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Reject, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        vm.roll(job.state.submitBlock + 1 + 8192 + 1); // older than any block hash the chain keeps
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeatCountMismatch.selector, jobId, 3, 0));
        market.finalize(jobId, job, seats);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, 0, 0);
        market.finalize(jobId, job, new SeatVote[](0));
        assertEq(_account(provider).stake, PROVIDER_STAKE, "provider not slashed");
        assertEq(_account(requester).balance, _escrowOf(job.spec), "whole escrow back");
        for (uint256 i; i < VALIDATORS; ++i) {
            assertEq(_account(validators[i]).stake, VALIDATOR_STAKE, "no bond taken");
        }
    }

    // ------------------------------------------------------------------ requester's seats

    function test_finalize_excludesSeatsHeldByRequester() public {
        _addValidator(requesterKey, 20_000e18);
        JobSpec memory spec = _spec();
        spec.committeeSize = 5;
        spec.collateral = 5 * spec.validatorFee + spec.budget / 10; // and the collateral ratio
        (uint256 jobId, Job memory job) = _submitted(spec);
        address[] memory holders = _committee(jobId, job);
        Ballot[] memory ballots = new Ballot[](5);
        uint256 requesterSeats;
        for (uint256 seat; seat < 5; ++seat) {
            // The requester would reject to get its budget and the collateral; its ballots must not count.
            bool own = holders[seat] == requester;
            ballots[seat] = own ? Ballot.Reject : Ballot.Approve;
            if (own) ++requesterSeats;
        }
        assertTrue(requesterSeats != 0, "the requester holds a seat");
        Before memory before = _before(jobId, job);
        uint96 requesterStake = _account(requester).stake;
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job); // past the appeal window: the decision stands
        // Every seat not the requester's voted: no need to wait for the window.
        // The requester's seats are set aside: the others decide, and they all approved.
        uint256 approvals = 5 - requesterSeats;
        Outcome outcome = Outcome.Accepted;
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, outcome, uint8(approvals), 0);
        market.finalize(jobId, job, seats);
        assertEq(_account(requester).stake, requesterStake, "never bonded");
        _settled(before, jobId, job, ballots, outcome);
    }

    // ------------------------------------------------------------------ timing

    function test_finalize_waitsForTheAppealWindowEvenWhenEverySeatVoted() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        uint256 settleBlock = _settleBlock(job);
        assertEq(settleBlock, _lastVoteBlock(job) + job.spec.verifyBlocks, "a window, then an appeal window");
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, seats);
        _mine(settleBlock - _block()); // the appeal window's last block: still open to appeal
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, seats);
        _mine(1);
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).balance, job.spec.budget, "accepted once nobody can appeal");
    }

    function test_finalize_splitCommitteeDecidesByMajority() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _finalize(jobId, job, _ballots(Ballot.Reject, Ballot.Approve, Ballot.Approve));
        assertEq(_account(provider).balance, job.spec.budget, "accepted by two of three");
    }

    function test_finalize_revertsBeforeTheSeedBlock() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        uint256 lastBlock = job.state.submitBlock + 1 + job.spec.verifyBlocks;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, lastBlock));
        market.finalize(jobId, job, new SeatVote[](3));
    }

    // ------------------------------------------------------------------ seat proofs and signatures

    function test_finalize_revertsOnWrongSeatCount() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        SeatVote[] memory fewer = new SeatVote[](2);
        (fewer[0], fewer[1]) = (seats[0], seats[1]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeatCountMismatch.selector, jobId, 2, 3));
        market.finalize(jobId, job, fewer);
        SeatVote[] memory more = new SeatVote[](4);
        (more[0], more[1], more[2], more[3]) = (seats[0], seats[1], seats[2], seats[2]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeatCountMismatch.selector, jobId, 4, 3));
        market.finalize(jobId, job, more);
    }

    function test_finalize_revertsForSeatProvenForAnotherHolder() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        address other = validators[0] == holders[0] ? validators[1] : validators[0];
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        // A valid roster proof of another validator, with its own valid signature: not the seat's holder.
        seats[0] = _seatVote(jobId, job, 0, other, Ballot.Approve);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotSeatHolder.selector, jobId, 0, other));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForInflatedWeight() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        seats[1].weight += 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotSeatHolder.selector, jobId, 1, seats[1].validator));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForSignatureByAnotherKey() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        bytes32 digest = market.voteDigest(jobId, 0, job.state.resultHash, 1, true, seats[1].evidence);
        (seats[1].r, seats[1].vs) = _sign(0xBAD, digest);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 1));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForSwappedSignatures() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        // The seat number is signed: even one validator's signature for another of its seats is refused.
        (seats[0].r, seats[0].vs, seats[1].r, seats[1].vs) = (seats[1].r, seats[1].vs, seats[0].r, seats[0].vs);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 0));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForFlippedBallot() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        seats[2].ballot = Ballot.Reject;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 2));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForAlteredEvidence() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        seats[0].evidence.recomputedDigest = keccak256("other");
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 0));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForSignatureOverAnotherResult() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        bytes32 digest = market.voteDigest(jobId, 0, keccak256("another result"), 0, true, seats[0].evidence);
        (seats[0].r, seats[0].vs) = _sign(validatorKeys[seats[0].validator], digest);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 0));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsForUnsignedVote() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Silent, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        seats[0].ballot = Ballot.Approve; // a vote nobody signed
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.InvalidVoteSignature.selector, jobId, 0));
        market.finalize(jobId, job, seats);
    }

    // ------------------------------------------------------------------ optimistic (mode None)

    function test_finalize_acceptsOptimisticJobAfterTheWindow() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize, spec.samplesPerValidator) = (VerificationMode.None, 0, 0);
        (uint256 jobId, Job memory job) = _submitted(spec);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, _settleBlock(job)));
        market.finalize(jobId, job, new SeatVote[](0));
        _closeWindow(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.SeatCountMismatch.selector, jobId, 1, 0));
        market.finalize(jobId, job, new SeatVote[](1));
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 0, 0);
        market.finalize(jobId, job, new SeatVote[](0));
        assertEq(_account(provider).balance, spec.budget, "paid");
        assertEq(_account(requester).balance, 0, "no fees escrowed");
    }

    // ------------------------------------------------------------------ finalize reverts

    function test_finalize_revertsWhenClaimed() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Claimed, JobStatus.Submitted)
        );
        market.finalize(jobId, job, new SeatVote[](0));
    }

    function test_finalize_revertsWhenAlreadyFinalized() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        market.finalize(jobId, job, seats);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Closed, JobStatus.Submitted)
        );
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        job.state.rosterRoot = bytes32(uint256(job.state.rosterRoot) + 1); // a snapshot with more weight
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        market.finalize(jobId, job, seats);
    }

    // ------------------------------------------------------------------ capability claims found false

    function test_finalize_slashesProviderWhoseJobExceededItsDeclaredResources() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        Evidence memory finding = Evidence({
            segment: 0,
            committedDigest: keccak256("committed"),
            recomputedDigest: bytes32(0),
            reason: VoteReason.ExceedsDeclaredResources
        });
        SeatVote[] memory seats = new SeatVote[](committee.length);
        for (uint256 seat; seat < committee.length; ++seat) {
            seats[seat] = _seatVote(jobId, job, seat, committee[seat], Ballot.Silent);
        }
        for (uint256 seat; seat < 2; ++seat) {
            seats[seat] = _signedSeat(jobId, job, seat, committee[seat], false, finding);
        }
        _closeWindow(job);
        vm.expectEmit(address(market));
        emit IJobMarket.VoteCast(jobId, committee[0], 0, false, finding);
        market.finalize(jobId, job, seats);

        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "provider slashed");
        assertEq(_account(provider).balance, 0, "nothing paid");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_finalize_revertsWhenAnApprovalCarriesAFindingAgainstTheProvider() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        Evidence memory finding = _evidence(0);
        finding.reason = VoteReason.ExceedsDeclaredResources;
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        _closeWindow(job); // past the appeal window: the decision stands
        seats[0] = _signedSeat(jobId, job, 0, committee[0], true, finding);
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.VoteReasonNeedsRejection.selector, jobId, VoteReason.ExceedsDeclaredResources
            )
        );
        market.finalize(jobId, job, seats);
    }

    /// @dev Seat `seat` held by `holder`, signed with `evidence` (which `_seatVote` does not let a test choose).
    function _signedSeat(
        uint256 jobId,
        Job memory job,
        uint256 seat,
        address holder,
        bool approve,
        Evidence memory evidence
    ) private view returns (SeatVote memory vote) {
        vote = _seatVote(jobId, job, seat, holder, Ballot.Silent);
        vote.ballot = approve ? Ballot.Approve : Ballot.Reject;
        vote.evidence = evidence;
        bytes32 digest = market.voteDigest(jobId, 0, job.state.resultHash, uint8(seat), approve, evidence);
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(validatorKeys[holder], digest);
        vote.r = r;
        vote.vs = bytes32(uint256(v - 27) << 255 | uint256(sig));
    }

    // ------------------------------------------------------------------ expireJob

    function test_expireJob_slashesCollateralAndRefundsRequester() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout + 1);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(provider, jobId, job.spec.collateral);
        vm.expectEmit(address(market));
        emit IJobMarket.JobExpired(jobId, provider, job.spec.collateral);
        market.expireJob(jobId, job);

        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "slashed");
        assertEq(_account(provider).locked, 0, "unlocked");
        assertEq(_account(requester).balance, _escrowOf(job.spec) + job.spec.collateral, "refund");
        assertEq(market.rewardsRemaining(), remaining, "reward released");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_expireJob_reopensJobForAnotherProvider() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        _wait(spec.runTimeout + 1);
        vm.expectEmit(address(market));
        emit IJobMarket.JobReopened(jobId, 1);
        market.expireJob(jobId, job);

        assertEq(_account(requester).balance, spec.collateral, "compensation");
        job = _reopened(job);
        job = _claim(jobId, job, otherProvider);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "claimed again");
    }

    function test_expireJob_revertsAtTheDeadline() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(job.spec.runTimeout);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.DeadlineNotReached.selector, jobId, job.state.deadline));
        market.expireJob(jobId, job);
    }

    function test_expireJob_revertsOnceSubmitted() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _wait(job.spec.runTimeout + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Submitted, JobStatus.Claimed)
        );
        market.expireJob(jobId, job);
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_finalize_conservesTokens(uint8 choices, bool reopen, uint96 fee, uint96 budget) public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = reopen;
        // Bonds are budget / 2: even a validator holding all three seats can cover three of them.
        spec.budget = uint96(uint256(budget) % 600e18) + 1;
        spec.validatorFee = uint96(uint256(fee) % 50e18);
        spec.collateral = 3 * spec.validatorFee + 1e18 + uint96(uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000);
        uint256 marketBefore = token.balanceOf(address(market)) - _totalHeld() - market.feesToBurn();
        (uint256 jobId, Job memory job) = _submitted(spec);

        Ballot[] memory ballots = new Ballot[](3);
        for (uint256 i; i < 3; ++i) {
            ballots[i] = Ballot((choices / 3 ** i) % 3);
        }
        Before memory before = _before(jobId, job);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job);
        market.finalize(jobId, job, seats);

        uint256 open = market.statusOf(jobId) == JobStatus.Open ? _escrowOf(spec) : 0;
        uint256 setAside = market.feesToBurn(); // an accepted job's fee, until someone calls burnFees
        assertEq(token.balanceOf(address(market)), marketBefore + _totalHeld() + open + setAside, "conserved");
        _settled(before, jobId, job, ballots, _outcomeOf(ballots));
    }

    function testFuzz_expireJob_conservesTokens(bool reopen, uint32 late, uint96 collateral) public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = reopen;
        spec.collateral = uint96(uint256(collateral) % PROVIDER_STAKE);
        if (spec.collateral < 3 * spec.validatorFee) spec.collateral = 3 * spec.validatorFee;
        if (spec.collateral < 100e18) spec.collateral = 100e18; // 10 % of the budget
        uint256 marketBefore = token.balanceOf(address(market)) - _totalHeld();
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        _wait(uint256(spec.runTimeout) + 1 + late);
        market.expireJob(jobId, job);

        uint256 open = reopen ? _escrowOf(spec) : 0;
        assertEq(token.balanceOf(address(market)), marketBefore + _totalHeld() + open, "conserved");
        assertEq(_account(provider).stake, PROVIDER_STAKE - spec.collateral, "slashed exactly the collateral");
    }

    function testFuzz_finalize_paysProviderOnce(uint8 extraBlocks, bool thirdApproves) public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Ballot third = thirdApproves ? Ballot.Approve : Ballot.Silent;
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, third));
        _mine(uint256(extraBlocks) % 40);
        _closeWindow(job);
        market.finalize(jobId, job, seats);
        uint256 paid = _account(provider).balance;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Closed, JobStatus.Submitted)
        );
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).balance, paid, "paid once");
        assertEq(paid, job.spec.budget, "paid the budget");
    }

    // ------------------------------------------------------------------ helpers

    /// @dev One seat votes, two stay silent: no side has a majority of the committee, so nothing is decided, even
    /// after the window. The silent seats lose their bonds to the lone voter; the provider is neither paid nor slashed.
    function _loneVoteDecidesNothing(Ballot lone) private {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        Before memory before = _before(jobId, job);
        Ballot[] memory ballots = _ballots(lone, Ballot.Silent, Ballot.Silent);
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, _settleBlock(job)));
        market.finalize(jobId, job, seats);
        _closeWindow(job);
        bool approve = lone == Ballot.Approve;
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, approve ? 1 : 0, approve ? 0 : 1);
        market.finalize(jobId, job, seats);

        assertEq(_account(provider).balance, 0, "provider unpaid");
        assertEq(_account(provider).stake, PROVIDER_STAKE, "provider not slashed");
        assertEq(_account(provider).locked, 0, "collateral released");
        assertEq(_account(requester).balance, _escrowOf(job.spec) - job.spec.validatorFee, "escrow less one fee");
        assertEq(market.rewardsRemaining(), remaining, "reward released");
        _settled(before, jobId, job, ballots, Outcome.Unverified);
    }

    /// @dev The outcome a committee of `ballots.length` decides when no seat is the requester's.
    function _outcomeOf(Ballot[] memory ballots) private pure returns (Outcome) {
        uint256 approvals;
        uint256 rejections;
        for (uint256 i; i < ballots.length; ++i) {
            if (ballots[i] == Ballot.Approve) ++approvals;
            if (ballots[i] == Ballot.Reject) ++rejections;
        }
        if (approvals * 2 > ballots.length) return Outcome.Accepted;
        if (rejections * 2 > ballots.length) return Outcome.Rejected;
        return Outcome.Unverified;
    }

    function _bond(Job memory job) private pure returns (uint96) {
        uint256 scaled = uint256(job.spec.budget) / ((uint256(job.spec.committeeSize) + 1) / 2);
        return scaled > VALIDATOR_SLASH ? uint96(scaled) : VALIDATOR_SLASH;
    }

    function _before(uint256 jobId, Job memory job) private view returns (Before memory before) {
        before.holders = _committee(jobId, job);
        uint256 n = knownValidators.length;
        (before.stake, before.unbonding, before.balance) = (new uint256[](n), new uint256[](n), new uint256[](n));
        for (uint256 i; i < n; ++i) {
            Account memory account = _account(knownValidators[i]);
            (before.stake[i], before.unbonding[i], before.balance[i]) =
            (account.stake, account.unbonding, account.balance);
        }
        before.requesterBalance = _account(requester).balance;
    }

    /// @dev Checks every known validator's stake and balance after a finalize, seat by seat: winning seats (every
    /// voter when Unverified) earn the fee and an equal share of the bonds of the other seats (dust to the first
    /// winner; to the provider when nobody voted); the requester's seats neither earn nor lose. Assumes every bond is
    /// covered by stake.
    function _settled(Before memory before, uint256, Job memory job, Ballot[] memory ballots, Outcome outcome)
        private
        view
    {
        (int256[] memory stakeDelta, int256[] memory balanceDelta, uint256 toProvider) =
            _expectedDeltas(before.holders, job, ballots, outcome);
        for (uint256 i; i < knownValidators.length; ++i) {
            if (knownValidators[i] == requester) continue;
            Account memory account = _account(knownValidators[i]);
            assertEq(account.stake, uint256(int256(before.stake[i]) + stakeDelta[i]), "validator stake");
            assertEq(account.unbonding, before.unbonding[i], "validator unbonding");
            assertEq(account.balance, uint256(int256(before.balance[i]) + balanceDelta[i]), "validator balance");
        }
        if (toProvider != 0) {
            assertGe(_account(job.state.provider).balance, toProvider, "bonds to the provider");
        }
    }

    function _expectedDeltas(address[] memory holders, Job memory job, Ballot[] memory ballots, Outcome outcome)
        private
        view
        returns (int256[] memory stakeDelta, int256[] memory balanceDelta, uint256 toProvider)
    {
        stakeDelta = new int256[](knownValidators.length);
        balanceDelta = new int256[](knownValidators.length);
        bool[] memory wins = new bool[](holders.length);
        uint256 winners;
        uint256 pool;
        for (uint256 seat; seat < holders.length; ++seat) {
            if (holders[seat] == requester) continue;
            Ballot ballot = ballots[seat];
            if (outcome == Outcome.Accepted) wins[seat] = ballot == Ballot.Approve;
            else if (outcome == Outcome.Rejected) wins[seat] = ballot == Ballot.Reject;
            else wins[seat] = ballot != Ballot.Silent;
            if (wins[seat]) {
                ++winners;
            } else {
                pool += _bond(job);
                stakeDelta[_indexOf(holders[seat])] -= int256(uint256(_bond(job)));
            }
        }
        if (winners == 0) return (stakeDelta, balanceDelta, pool);
        uint256 share = pool / winners;
        uint256 dust = pool - share * winners;
        for (uint256 seat; seat < holders.length; ++seat) {
            if (!wins[seat]) continue;
            balanceDelta[_indexOf(holders[seat])] += int256(job.spec.validatorFee + share + dust);
            dust = 0;
        }
    }

    function _indexOf(address validator) private view returns (uint256) {
        for (uint256 i; i < knownValidators.length; ++i) {
            if (knownValidators[i] == validator) return i;
        }
        revert("unknown validator");
    }

    function _sign(uint256 key, bytes32 digest) private pure returns (bytes32 r, bytes32 vs) {
        (uint8 v, bytes32 r_, bytes32 s) = vm.sign(key, digest);
        (r, vs) = (r_, bytes32(uint256(v - 27) << 255 | uint256(s)));
    }

    /// @dev Stake, unbonding and balances of every actor.
    function _totalHeld() private view returns (uint256 total) {
        address[] memory actors = new address[](knownValidators.length + 3);
        (actors[0], actors[1], actors[2]) = (requester, provider, otherProvider);
        for (uint256 i; i < knownValidators.length; ++i) {
            actors[3 + i] = knownValidators[i];
        }
        for (uint256 i; i < actors.length; ++i) {
            if (i >= 3 && actors[i] == requester) continue;
            Account memory account = _account(actors[i]);
            total += uint256(account.stake) + account.unbonding + account.balance;
        }
    }
}
