// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Account, Job, JobSpec, JobStatus, MAX_REOPENS} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice The known attack "a claimed job cannot be taken back from a provider who squats on it", played as the
/// squatter would: it claims a job (perhaps to keep a rival from earning it) and never runs it. The exit: once the
/// deadline passes anyone (a keeper, the rival itself) expires the claim; the squatter's collateral is slashed to the
/// requester, and the job reopens for another provider (`reopenOnFailure`, every client's default) or, if the
/// requester opted out, the requester gets its escrow back. The squatter can neither leave early with its
/// collateral nor earn anything; expiring its own claim changes nothing.
contract ClaimSquattingAttackTest is Fixture {
    address private squatter = address(0x5A77E5);
    address private keeper = address(0x4EE9E5);

    function setUp() public override {
        super.setUp();
        _registerProvider(squatter, _caps());
        _stakeAs(squatter, PROVIDER_STAKE);
    }

    function test_attack_squattedJobIsExpiredByAKeeperAndFinishedByARival() public {
        uint256 squatterBefore = _wealth(squatter);
        (uint256 jobId, Job memory job) = _post(_reopeningSpec());
        job = _claim(jobId, job, squatter);

        // The squatter sits until the deadline: nobody else can claim meanwhile.
        _wait(job.spec.runTimeout + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobNotInStatus.selector, jobId, JobStatus.Claimed, JobStatus.Open)
        );
        vm.prank(otherProvider);
        market.claimJob(jobId, job);

        // A keeper with no role and no stake takes the job back.
        vm.expectEmit(address(market));
        emit IStaking.StakeSlashed(squatter, jobId, job.spec.collateral);
        vm.expectEmit(address(market));
        emit IJobMarket.JobExpired(jobId, squatter, job.spec.collateral);
        vm.expectEmit(address(market));
        emit IJobMarket.JobReopened(jobId, 1);
        vm.prank(keeper);
        market.expireJob(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "open again");

        // A rival claims, runs and is paid.
        job = _reopened(job);
        job = _claim(jobId, job, otherProvider);
        job = _submit(jobId, job);
        _mine(2);
        _finalize(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));

        assertEq(_account(otherProvider).balance, job.spec.budget, "the rival was paid");
        assertEq(_account(requester).balance, job.spec.collateral, "the requester got the collateral");
        assertEq(_wealth(squatter), squatterBefore - job.spec.collateral, "the squatter lost its collateral");
        Account memory after_ = _account(squatter);
        assertEq(after_.balance + after_.rewardOwed, 0, "and earned nothing");
        assertEq(after_.locked, 0, "nothing left locked");
        assertEq(_wealth(keeper), 0, "the keeper neither paid nor earned");
    }

    function test_attack_aRivalExpiresTheSquatterAndClaimsInTheSameBlock() public {
        (uint256 jobId, Job memory job) = _post(_reopeningSpec());
        job = _claim(jobId, job, squatter);
        _wait(job.spec.runTimeout + 1);
        vm.prank(otherProvider);
        market.expireJob(jobId, job);
        job = _claim(jobId, _reopened(job), otherProvider);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "claimed by the rival");
        assertEq(job.state.attempts, 1, "second attempt");
    }

    function test_attack_nobodyCanExpireBeforeTheDeadline() public {
        (uint256 jobId, Job memory job) = _post(_reopeningSpec());
        job = _claim(jobId, job, squatter);
        _wait(job.spec.runTimeout); // the deadline itself still belongs to the provider
        address[3] memory callers = [keeper, otherProvider, requester];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.DeadlineNotReached.selector, jobId, job.state.deadline));
            vm.prank(callers[i]);
            market.expireJob(jobId, job);
        }
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Claimed), "still claimed");
    }

    function test_attack_squatterCannotLeaveWithItsCollateral() public {
        (uint256 jobId, Job memory job) = _post(_reopeningSpec());
        job = _claim(jobId, job, squatter);
        uint256 free = PROVIDER_STAKE - job.spec.collateral;
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.InsufficientFreeStake.selector, squatter, free, uint256(PROVIDER_STAKE))
        );
        vm.prank(squatter);
        market.requestUnbond(PROVIDER_STAKE);
        // Expiring early is refused to the squatter too (see above); at the deadline it may only submit.
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.DeadlineNotReached.selector, jobId, job.state.deadline));
        vm.prank(squatter);
        market.expireJob(jobId, job);
    }

    function test_attack_expiringItsOwnClaimDodgesNothing() public {
        uint256 squatterBefore = _wealth(squatter);
        (uint256 jobId, Job memory job) = _post(_reopeningSpec());
        job = _claim(jobId, job, squatter);
        _wait(job.spec.runTimeout + 1);
        vm.prank(squatter);
        market.expireJob(jobId, job);
        assertEq(_wealth(squatter), squatterBefore - job.spec.collateral, "slashed exactly as if a keeper expired it");
        assertEq(_account(requester).balance, job.spec.collateral, "the collateral went to the requester");
    }

    function test_attack_squattingAgainAndAgainCostsACollateralEachTimeAndEndsInARefund() public {
        uint256 squatterBefore = _wealth(squatter);
        JobSpec memory spec = _reopeningSpec();
        (uint256 jobId, Job memory job) = _post(spec);
        uint256 squats = uint256(MAX_REOPENS) + 1;
        for (uint256 i; i < squats; ++i) {
            job = _claim(jobId, job, squatter);
            _wait(spec.runTimeout + 1);
            vm.prank(keeper);
            market.expireJob(jobId, job);
            if (i + 1 < squats) job = _reopened(job);
        }
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed after the last reopen");
        assertEq(_wealth(squatter), squatterBefore - squats * spec.collateral, "one collateral per squat");
        assertEq(
            _account(requester).balance, _escrowOf(spec) + squats * spec.collateral, "escrow back plus every collateral"
        );
    }

    function test_attack_withoutReopeningTheRequesterIsRefundedAndCompensated() public {
        JobSpec memory spec = _spec(); // reopenOnFailure = false: the requester asked for its money back
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, squatter);
        _wait(spec.runTimeout + 1);
        vm.prank(keeper);
        market.expireJob(jobId, job);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
        assertEq(_account(requester).balance, _escrowOf(spec) + spec.collateral, "escrow back plus the collateral");
        assertEq(_account(squatter).stake, PROVIDER_STAKE - spec.collateral, "slashed");
    }

    function _reopeningSpec() private pure returns (JobSpec memory spec) {
        spec = _spec();
        spec.reopenOnFailure = true;
    }

    /// @dev Tokens held plus everything the market owes or holds for `who`.
    function _wealth(address who) private view returns (uint256) {
        Account memory account = _account(who);
        return token.balanceOf(who) + account.stake + account.unbonding + account.balance + account.rewardOwed;
    }
}
