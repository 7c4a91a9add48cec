// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {Job, JobStatus} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Below the final round, a requester may settle a unanimous acceptance before the appeal window ends (it
/// waives its own appeal, the only one left); nobody else may, and nothing short of unanimity settles early.
contract EarlyAcceptanceTest is Fixture {
    function test_finalize_requesterSettlesUnanimousAcceptanceBeforeTheAppealWindow() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        vm.prank(requester);
        market.finalize(jobId, job, seats); // inside the vote window: every seat approved
        assertEq(_account(provider).balance, job.spec.budget, "paid at once");
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "closed");
    }

    function test_finalize_revertsEarlyWhenSentByAnyoneButTheRequester() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, 3));
        uint256 settleBlock = _settleBlock(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, seats);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, seats);
    }

    function test_finalize_revertsEarlyForTheRequesterUnlessEverySeatApproved() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        uint256 settleBlock = _settleBlock(job);
        SeatVote[] memory split = _seats(jobId, job, _ballots(Ballot.Reject, Ballot.Approve, Ballot.Approve));
        vm.prank(requester); // a losing seat may still appeal
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, split);
        SeatVote[] memory rejected = _seats(jobId, job, _ballots(Ballot.Reject, 3));
        vm.prank(requester); // the provider may appeal a rejection
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, rejected);
    }

    /// @dev The attack: a requester colluding with its provider hides the one rejecting vote (sends that seat as
    /// silent) to settle at once, before the rejecting seat could appeal. A silent seat still judges: no early exit.
    function test_finalize_revertsEarlyWhenTheRequesterWithholdsAVote() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        uint256 settleBlock = _settleBlock(job);
        SeatVote[] memory withheld = _seats(jobId, job, _ballots(Ballot.Silent, Ballot.Approve, Ballot.Approve));
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.VerificationPending.selector, jobId, settleBlock));
        market.finalize(jobId, job, withheld);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "still open to appeal");
    }
}
