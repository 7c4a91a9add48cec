// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Evidence, Job, JobSpec, JobStatus, VoteReason} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice "Post a job that always fails and collect the provider's collateral", played as the attacker would.
/// Before failure reports the provider could only let such a job expire, and expiry credits its collateral to the
/// requester. Now the provider submits a failure report (a result like any other: its digest, the root and count of
/// the checkpoints written before the failure), the committee re-runs the job, sees it fail the same way, and
/// approves with the failure outcome's digest as evidence (`jobs/failure.py`): the provider is paid the budget and
/// keeps its collateral, and the requester has paid for the failed run instead of gaining anything.
contract AlwaysFailingJobAttackTest is Fixture {
    /// @dev The failure report's archive digest, and the checkpoints the run wrote before it failed.
    bytes32 private constant REPORT_DIGEST = keccak256("failure report: exited with code 3 in segment 1");
    bytes32 private constant REPORT_CHECKPOINT_ROOT = keccak256("checkpoints 0 and 1");
    uint32 private constant REPORT_CHECKPOINT_COUNT = 2;
    /// @dev `jobs.failure.FAILURE_SEGMENT`, and sha256 of the outcome's canonical JSON
    /// `{"exit_code":3,"format":1,"kind":"exit"}` (`FailureOutcome.digest`).
    uint32 private constant FAILURE_SEGMENT = type(uint32).max - 3;
    bytes32 private constant EXIT_3 = sha256('{"exit_code":3,"format":1,"kind":"exit"}');

    function _wealth(address account) private view returns (uint256) {
        return
            token.balanceOf(account) + _account(account).stake + _account(account).unbonding + _account(account).balance;
    }

    /// @dev Submits the failure report as the provider node does, through the same `submitResult`.
    function _submitFailureReport(uint256 jobId, Job memory job) private returns (Job memory) {
        bytes32 roster = market.rosterRoot();
        vm.prank(job.state.provider);
        market.submitResult(jobId, job, REPORT_DIGEST, RESULT_CODEC, REPORT_CHECKPOINT_ROOT, REPORT_CHECKPOINT_COUNT);
        job.state.submitBlock = uint64(vm.getBlockNumber());
        job.state.rosterRoot = roster;
        job.state.resultHash =
            keccak256(abi.encode(REPORT_DIGEST, RESULT_CODEC, REPORT_CHECKPOINT_ROOT, REPORT_CHECKPOINT_COUNT));
        _mine(2);
        return job;
    }

    /// @dev Every seat signed by its holder with `approve` and the failure evidence (committed = the reported
    /// outcome, recomputed = the outcome of the seat's own re-run).
    function _failureVotes(uint256 jobId, Job memory job, bool approve, bytes32 recomputed)
        private
        view
        returns (SeatVote[] memory seats)
    {
        seats = _seats(jobId, job, _ballots(Ballot.Silent, job.spec.committeeSize));
        Evidence memory evidence = Evidence({
            segment: FAILURE_SEGMENT,
            committedDigest: EXIT_3,
            recomputedDigest: recomputed,
            reason: VoteReason.Recomputed
        });
        for (uint256 seat; seat < seats.length; ++seat) {
            seats[seat].ballot = approve ? Ballot.Approve : Ballot.Reject;
            seats[seat].evidence = evidence;
            bytes32 digest =
                market.voteDigest(jobId, job.state.round, job.state.resultHash, uint8(seat), approve, evidence);
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(validatorKeys[seats[seat].validator], digest);
            seats[seat].r = r;
            seats[seat].vs = bytes32(uint256(v - 27) << 255 | uint256(s));
        }
    }

    function test_attack_anAlwaysFailingJobPaysTheProviderAndCostsTheRequesterItsBudget() public {
        JobSpec memory spec = _spec();
        uint256 requesterBefore = _wealth(requester);
        uint96 stakeBefore = _account(provider).stake;
        uint256 providerBalanceBefore = _account(provider).balance;

        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        assertEq(_account(provider).locked, spec.collateral, "the claim locks the collateral");
        job = _submitFailureReport(jobId, job);

        // Every seat re-ran the job, saw it exit with code 3 again, and approves the report.
        _closeWindow(job);
        market.finalize(jobId, job, _failureVotes(jobId, job, true, EXIT_3));

        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "settled");
        assertEq(_account(provider).stake, stakeBefore, "the provider keeps its whole collateral");
        assertEq(_account(provider).locked, 0, "and it is unlocked");
        assertEq(_account(provider).balance, providerBalanceBefore + spec.budget, "the provider is paid the budget");
        uint256 paid = requesterBefore - _wealth(requester);
        assertGe(paid, spec.budget, "the requester paid at least the budget for its failing job");
        assertEq(
            paid,
            uint256(spec.budget) + _expectedFee(spec.budget) + uint256(spec.committeeSize) * spec.validatorFee,
            "the requester paid the budget, the protocol fee and the votes: it gained nothing"
        );
    }

    function test_attack_theRequesterGainsNothingEvenWithTheCollateralAboveTheBudget() public {
        // The bait would be a collateral worth more than the budget: expiry would have credited it all.
        JobSpec memory spec = _spec();
        spec.collateral = 5 * spec.budget;
        uint256 requesterBefore = _wealth(requester);
        uint256 providerBefore = _wealth(provider);

        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        job = _submitFailureReport(jobId, job);
        _closeWindow(job);
        market.finalize(jobId, job, _failureVotes(jobId, job, true, EXIT_3));

        assertLt(_wealth(requester), requesterBefore, "the requester is poorer, not richer");
        assertEq(_wealth(provider), providerBefore + spec.budget, "the provider gained the budget, lost nothing");
    }

    function test_aFailureReportForAJobThatSucceedsIsRejectedAndSlashed() public {
        // The other side: a provider that reports a failure to skip the work. The committee's re-run succeeded
        // (recomputed = zero: no failure), so it rejects, and the provider loses its collateral as for any lie.
        JobSpec memory spec = _spec();
        uint96 stakeBefore = _account(provider).stake;
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        job = _submitFailureReport(jobId, job);

        _closeWindow(job);
        market.finalize(jobId, job, _failureVotes(jobId, job, false, bytes32(0)));

        assertEq(_account(provider).stake, stakeBefore - spec.collateral, "the lying provider is slashed");
        assertEq(_account(provider).locked, 0, "its claim is over");
    }
}
