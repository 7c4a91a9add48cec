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
import {Fixture} from "../utils/Fixture.sol";

/// @notice Finalizing after verification, expiring after a missed deadline, reopening, and validator slashing.
contract JobSettlementTest is Fixture {
    // ------------------------------------------------------------------ accepted

    function test_finalize_acceptsUnanimousJobAndPaysProvider() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true, true, true));
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 3, 0);
        vm.expectEmit(address(market));
        emit IJobMarket.ProviderPaid(jobId, provider, job.spec.budget, job.spec.reward);
        market.finalize(jobId, job);

        Account memory paid = _account(provider);
        assertEq(paid.balance, job.spec.budget, "payment");
        assertEq(paid.rewardOwed, job.spec.reward, "reward owed");
        assertEq(paid.locked, 0, "collateral released");
        assertEq(paid.stake, PROVIDER_STAKE, "stake intact");
        assertEq(_account(requester).balance, 0, "no unused fees");
        assertEq(market.jobWord(jobId), 0, "word deleted");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_finalize_acceptsEarlyOnStrictMajorityAndRefundsUnusedFee() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true, true));
        vm.expectEmit(address(market));
        emit IStaking.BalanceCredited(requester, jobId, job.spec.validatorFee);
        market.finalize(jobId, job);
        assertEq(_account(provider).balance, job.spec.budget, "paid");
        assertEq(_account(requester).balance, job.spec.validatorFee, "unused fee back");
    }

    function test_finalize_revertsWhilePendingWithoutMajority() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true));
        uint256 lastBlock = _lastVoteBlock(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, lastBlock));
        market.finalize(jobId, job);
        _mine(job.spec.verifyBlocks - 1); // now at lastBlock: still pending
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, lastBlock));
        market.finalize(jobId, job);
        _mine(1);
        market.finalize(jobId, job);
        assertEq(_account(provider).balance, job.spec.budget, "accepted after the window");
    }

    function test_finalize_slashesRejectersWhenAccepted() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(true, false, true));
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(committee[1], jobId, VALIDATOR_SLASH);
        market.finalize(jobId, job);

        assertEq(_account(committee[1]).stake, VALIDATOR_STAKE - VALIDATOR_SLASH, "loser slashed");
        assertEq(_account(committee[1]).balance, job.spec.validatorFee, "loser keeps its fee");
        assertEq(_account(committee[0]).balance, job.spec.validatorFee + VALIDATOR_SLASH / 2, "winner share");
        assertEq(_account(committee[2]).balance, job.spec.validatorFee + VALIDATOR_SLASH / 2, "winner share");
    }

    // ------------------------------------------------------------------ rejected

    function test_finalize_rejectsAndCompensatesRequester() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(false, false, false));
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Rejected, 0, 3);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(provider, jobId, job.spec.collateral);
        vm.expectEmit(address(market));
        emit IStaking.BalanceCredited(
            requester, jobId, uint128(job.spec.budget) + job.spec.protocolFee + job.spec.collateral
        );
        market.finalize(jobId, job);

        Account memory slashed = _account(provider);
        assertEq(slashed.stake, PROVIDER_STAKE - job.spec.collateral, "collateral slashed");
        assertEq(slashed.locked, 0, "nothing locked");
        assertEq(slashed.balance, 0, "unpaid");
        assertEq(
            _account(requester).balance,
            uint256(job.spec.budget) + job.spec.protocolFee + job.spec.collateral,
            "refund, the protocol fee included"
        );
        assertEq(market.rewardsRemaining(), remaining, "reward released");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_finalize_slashesApproversWhenRejected() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(false, true, false));
        market.finalize(jobId, job);
        assertEq(_account(committee[1]).stake, VALIDATOR_STAKE - VALIDATOR_SLASH, "approver slashed");
        assertEq(_account(committee[0]).balance, job.spec.validatorFee + VALIDATOR_SLASH / 2, "rejecter share");
        assertEq(_account(committee[2]).balance, job.spec.validatorFee + VALIDATOR_SLASH / 2, "rejecter share");
    }

    function test_finalize_takesValidatorSlashFromUnbondingWhenStakeIsShort() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(true, true, false));
        vm.prank(committee[2]);
        market.requestUnbond(VALIDATOR_STAKE - 4e18);
        market.finalize(jobId, job);
        Account memory loser = _account(committee[2]);
        assertEq(loser.stake, 0, "stake taken");
        assertEq(loser.unbonding, VALIDATOR_STAKE - 4e18 - (VALIDATOR_SLASH - 4e18), "rest from unbonding");
    }

    function test_finalize_givesDivisionDustToLowestWinningSlot() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(true, false, true));
        // The loser leaves 3 wei bonded: 3 = 2 * 1 + 1 of dust.
        vm.prank(committee[1]);
        market.requestUnbond(VALIDATOR_STAKE - 3);
        _wait(UNBONDING_DELAY);
        vm.prank(committee[1]);
        market.withdrawUnbonded();
        market.finalize(jobId, job);
        assertEq(_account(committee[0]).balance, job.spec.validatorFee + 2, "lowest slot takes the dust");
        assertEq(_account(committee[2]).balance, job.spec.validatorFee + 1, "even share");
    }

    function test_finalize_skipsValidatorSlashingOnceSeedIsGone() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(false, true, false));
        vm.roll(_block() + 300); // the seed block's hash is no longer readable
        market.finalize(jobId, job);
        assertEq(_account(committee[1]).stake, VALIDATOR_STAKE, "approver not slashed");
        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "provider still slashed");
    }

    function test_finalize_reopensRejectedJobAndRestoresFees() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(spec);
        _votes(jobId, job, _bools(false, false, false));
        uint256 held = _totalHeld();
        vm.expectEmit(address(market));
        emit IJobMarket.JobReopened(jobId, 1);
        market.finalize(jobId, job);

        job = _reopened(job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open again");
        assertEq(uint256(market.jobWord(jobId)) >> 24, uint256(keccak256(abi.encode(job))) >> 24, "word");
        uint256 spent = 3 * uint256(spec.validatorFee);
        assertEq(_account(requester).balance, spec.collateral - spent, "collateral less restored fees");
        assertEq(held - _totalHeld(), spent, "fees moved back into the escrow");
        assertEq(market.rewardsRemaining(), remaining - job.spec.reward, "reward stays reserved");

        // The reopened job holds its full escrow: cancelling it refunds everything the requester paid.
        uint256 wallet = token.balanceOf(requester);
        vm.prank(requester);
        market.cancelJob(jobId, job);
        assertEq(token.balanceOf(requester) - wallet, _escrowOf(spec), "full escrow");
    }

    function test_finalize_closesAfterThreeReopens() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        (uint256 jobId, Job memory job) = _post(spec);
        _stakeAs(provider, 1_000e18);
        for (uint256 attempt; attempt <= 3; ++attempt) {
            job = _claim(jobId, job, provider);
            job = _submit(jobId, job);
            _mine(2);
            _votes(jobId, job, _bools(false, false, false));
            market.finalize(jobId, job);
            if (attempt < 3) {
                assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "reopened");
                job = _reopened(job);
            }
        }
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed after the third reopen");
        uint256 compensation = 4 * uint256(spec.collateral) - 3 * 3 * uint256(spec.validatorFee);
        assertEq(
            _account(requester).balance,
            compensation + spec.budget + _expectedFee(spec.budget),
            "refund (the protocol fee included) and compensation"
        );
    }

    // ------------------------------------------------------------------ unverified and optimistic

    function test_finalize_unverifiedOnTieSlashesNobody() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory committee = _committee(jobId, job);
        _votes(jobId, job, _bools(true, false));
        _mine(job.spec.verifyBlocks);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, 1, 1);
        market.finalize(jobId, job);

        assertEq(_account(provider).stake, PROVIDER_STAKE, "provider not slashed");
        assertEq(_account(provider).locked, 0, "collateral released");
        assertEq(_account(committee[0]).stake, VALIDATOR_STAKE, "validator not slashed");
        assertEq(_account(committee[1]).stake, VALIDATOR_STAKE, "validator not slashed");
        assertEq(
            _account(requester).balance,
            uint256(job.spec.budget) + job.spec.protocolFee + job.spec.validatorFee,
            "refund, the protocol fee included"
        );
        assertEq(market.rewardsRemaining(), remaining, "reward released");
    }

    function test_finalize_unverifiedWithoutVotesInVerifiedMode() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _mine(job.spec.verifyBlocks);
        market.finalize(jobId, job);
        assertEq(_account(requester).balance, _escrowOf(job.spec), "whole escrow back");
        assertEq(_account(provider).balance, 0, "unpaid");
    }

    function test_finalize_acceptsOptimisticJobWithoutVotes() public {
        JobSpec memory spec = _spec();
        spec.mode = VerificationMode.None;
        (uint256 jobId, Job memory job) = _submitted(spec);
        _mine(spec.verifyBlocks);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Accepted, 0, 0);
        market.finalize(jobId, job);
        assertEq(_account(provider).balance, spec.budget, "paid");
        assertEq(_account(requester).balance, 3 * uint256(spec.validatorFee), "fees back");
    }

    function test_finalize_acceptsOptimisticJobWithoutCommittee() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize, spec.samplesPerValidator) = (VerificationMode.None, 0, 0);
        (uint256 jobId, Job memory job) = _submitted(spec);
        _mine(spec.verifyBlocks);
        market.finalize(jobId, job);
        assertEq(_account(provider).balance, spec.budget, "paid");
    }

    function test_finalize_rejectsOptimisticJobOnRejectVote() public {
        JobSpec memory spec = _spec();
        spec.mode = VerificationMode.None;
        (uint256 jobId, Job memory job) = _submitted(spec);
        _votes(jobId, job, _bools(false));
        _mine(spec.verifyBlocks);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Rejected, 0, 1);
        market.finalize(jobId, job);
    }

    // ------------------------------------------------------------------ finalize reverts

    function test_finalize_revertsWhenClaimed() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Claimed, JobStatus.Submitted)
        );
        market.finalize(jobId, job);
    }

    function test_finalize_revertsWhenAlreadyFinalized() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true, true, true));
        market.finalize(jobId, job);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Closed, JobStatus.Submitted)
        );
        market.finalize(jobId, job);
    }

    function test_finalize_revertsOnDataMismatch() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true, true, true));
        job.spec.budget *= 2;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobDataMismatch.selector, jobId));
        market.finalize(jobId, job);
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
        for (uint8 slot; slot < 2; ++slot) {
            vm.expectEmit(address(market));
            emit IJobMarket.VoteCast(jobId, committee[slot], slot, false, finding);
            vm.prank(committee[slot]);
            market.vote(jobId, job, slot, false, finding);
        }
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Rejected, 0, 2);
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(provider, jobId, job.spec.collateral);
        market.finalize(jobId, job);

        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "provider slashed");
        assertEq(_account(provider).balance, 0, "nothing paid");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_vote_revertsWhenAcceptingWithAFindingAgainstTheProvider() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address member = _committee(jobId, job)[0];
        Evidence memory finding = _evidence(0);
        finding.reason = VoteReason.ExceedsDeclaredResources;
        vm.expectRevert(
            abi.encodeWithSelector(
                IJobMarket.VoteReasonNeedsRejection.selector, jobId, VoteReason.ExceedsDeclaredResources
            )
        );
        vm.prank(member);
        market.vote(jobId, job, 0, true, finding);
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

    function testFuzz_finalize_conservesTokens(uint8 votes, uint8 approvals, bool reopen, uint96 fee, uint96 budget)
        public
    {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = reopen;
        spec.budget = uint96(uint256(budget) % 10_000e18) + 1;
        spec.validatorFee = uint96(uint256(fee) % 50e18);
        spec.collateral = 3 * spec.validatorFee + 1e18 + uint96(uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000);
        uint256 marketBefore = token.balanceOf(address(market)) - _totalHeld();
        (uint256 jobId, Job memory job) = _submitted(spec);

        uint256 voteCount = uint256(votes) % 4;
        bool[] memory choices = new bool[](voteCount);
        for (uint256 i; i < voteCount; ++i) {
            choices[i] = (approvals >> i) & 1 == 1;
        }
        _votes(jobId, job, choices);
        _mine(spec.verifyBlocks);
        market.finalize(jobId, job);

        uint256 open = market.statusOf(jobId) == JobStatus.Open ? _escrowOf(spec) : 0;
        assertEq(token.balanceOf(address(market)), marketBefore + _totalHeld() + open, "conserved");
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

    function testFuzz_finalize_paysProviderOnce(uint8 extraBlocks) public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _votes(jobId, job, _bools(true, true));
        _mine(uint256(extraBlocks) % 40);
        market.finalize(jobId, job);
        uint256 paid = _account(provider).balance;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Closed, JobStatus.Submitted)
        );
        market.finalize(jobId, job);
        assertEq(_account(provider).balance, paid, "paid once");
        assertEq(paid, job.spec.budget, "paid the budget");
    }

    /// @dev Stake, unbonding and balances of every actor.
    function _totalHeld() private view returns (uint256 total) {
        address[] memory actors = new address[](VALIDATORS + 3);
        (actors[0], actors[1], actors[2]) = (requester, provider, otherProvider);
        for (uint256 i; i < VALIDATORS; ++i) {
            actors[3 + i] = validators[i];
        }
        for (uint256 i; i < actors.length; ++i) {
            Account memory account = _account(actors[i]);
            total += uint256(account.stake) + account.unbonding + account.balance;
        }
    }
}
