// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Job, JobSpec, Outcome} from "../../../contracts/market/Types.sol";
import {Ballot} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Attack 2 of the protocol review, "a lone vote decides", played as the attacker would. v1 decided by the
/// votes cast: with the honest validators gone quiet, a single seat the requester controlled rejected an honest
/// provider's correct result and took its whole collateral; silent seats lost nothing. Now a side needs a
/// majority of the committee's seats, and every silent seat loses its bond.
contract LoneVoteAttackTest is Fixture {
    /// @dev One seat rejects, the others stay silent: nobody has a majority of the committee.
    function test_attack_loneRejectionCannotSlashAnHonestProvider() public {
        JobSpec memory spec = _spec();
        (uint256 jobId, Job memory job) = _submitted(spec);
        uint256 providerStake = _account(provider).stake;
        uint256 requesterBalance = _account(requester).balance;
        address[] memory holders = _committee(jobId, job);

        Ballot[] memory ballots = _ballots(Ballot.Silent, spec.committeeSize);
        ballots[0] = Ballot.Reject;
        _closeWindow(job);
        vm.recordLogs();
        _finalize(jobId, job, ballots);

        assertEq(_account(provider).stake, providerStake, "the honest provider keeps its collateral");
        assertEq(_account(provider).locked, 0, "and it is unlocked");
        // The requester gets its escrow back less the one fee paid; it gained nothing from the lone rejection.
        assertEq(
            _account(requester).balance,
            requesterBalance + _escrowOf(spec) - spec.validatorFee,
            "requester refunded, no collateral taken"
        );
        // The silent seats paid for their silence (unless the lone voter also holds them: draws are with replacement).
        for (uint256 seat = 1; seat < holders.length; ++seat) {
            if (holders[seat] == holders[0]) continue;
            assertLe(_account(holders[seat]).stake, VALIDATOR_STAKE - VALIDATOR_SLASH, "silent seat bonded");
        }
        _expectOutcome(jobId, Outcome.Unverified);
    }

    /// @dev The same with the lone seat approving garbage: the cheating provider is not paid.
    function test_attack_loneApprovalCannotPayACheatingProvider() public {
        JobSpec memory spec = _spec();
        (uint256 jobId, Job memory job) = _submitted(spec);
        Ballot[] memory ballots = _ballots(Ballot.Silent, spec.committeeSize);
        ballots[0] = Ballot.Approve;
        _closeWindow(job);
        vm.recordLogs();
        _finalize(jobId, job, ballots);
        assertEq(_account(provider).balance, 0, "not paid");
        _expectOutcome(jobId, Outcome.Unverified);
    }

    /// @dev Staying silent used to be free; now a silent seat loses its bond to the seats that voted with the
    /// decision, so abstaining costs more than voting honestly earns.
    function test_attack_abstainingCostsTheBond() public {
        JobSpec memory spec = _spec();
        (uint256 jobId, Job memory job) = _submitted(spec);
        address[] memory holders = _committee(jobId, job);
        // The silent seat: one whose holder holds no other seat (draws are with replacement).
        uint256 silent = type(uint256).max;
        for (uint256 seat; seat < holders.length && silent == type(uint256).max; ++seat) {
            uint256 held;
            for (uint256 other; other < holders.length; ++other) {
                if (holders[other] == holders[seat]) ++held;
            }
            if (held == 1) silent = seat;
        }
        assertTrue(silent != type(uint256).max, "some seat holder holds one seat");
        Ballot[] memory ballots = _ballots(Ballot.Approve, spec.committeeSize);
        ballots[silent] = Ballot.Silent;
        address quiet = holders[silent];
        uint256 before = _account(quiet).stake;
        _closeWindow(job);
        vm.recordLogs();
        _finalize(jobId, job, ballots);
        assertLe(_account(quiet).stake + VALIDATOR_SLASH, before, "the silent seat lost at least the minimum bond");
        _expectOutcome(jobId, Outcome.Accepted);
    }

    function _expectOutcome(uint256 jobId, Outcome outcome) private {
        bytes32 topic = keccak256("JobFinalized(uint256,uint8,uint8,uint8)");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic && uint256(logs[i].topics[1]) == jobId) {
                (uint8 got,,) = abi.decode(logs[i].data, (uint8, uint8, uint8));
                assertEq(uint256(got), uint256(uint8(outcome)), "outcome");
                return;
            }
        }
        revert("no JobFinalized");
    }
}
