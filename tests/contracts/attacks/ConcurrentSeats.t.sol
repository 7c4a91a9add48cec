// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Job, JobSpec, JobStatus, Outcome} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice "One validator stake backs unlimited concurrent seats", played by the attacker. Seats are drawn by stake
/// weight, but in v1 a seat's bond was only taken at settlement, from whatever stake was left: one stake could cast
/// counted votes in any number of seats and jobs at once and lose at most itself. Now a vote counts only if its
/// seat's bond (scaled to the job's value) is locked from the holder's free stake when the vote is revealed, and
/// stays locked until the job settles; a vote its holder cannot back does not count, keeps a majority from forming
/// like silence, and still pays its bond from whatever the holder has if it ends on the losing side.
contract ConcurrentSeatsAttackTest is Fixture {
    uint256 private constant ATTACKER_KEY = 0xBAD5EA7;
    /// @dev Exactly one seat's bond for `_bigSpec` (budget 5,000: bond 2,500), 12.5 % of the stake against 6 honest
    /// validators topped up to 2,500 each (each can back one seat of its own).
    uint96 private constant ATTACKER_STAKE = 2_500e18;

    address private attacker;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < validators.length; ++i) {
            _stakeAs(validators[i], ATTACKER_STAKE - VALIDATOR_STAKE);
        }
        attacker = _addValidator(ATTACKER_KEY, ATTACKER_STAKE);
        _stakeAs(provider, 150_000e18); // collateral for the jobs a search leaves open
        _fund(provider, 10_000e18);
        _approveMarket(provider, 10_000e18);
    }

    /// @dev The attacker draws 2 (or 3) of the 3 seats but stakes one seat's bond: its first vote locks the bond,
    /// the others are unbacked and do not count. It cannot reject the honest provider's result with one stake; the
    /// round decides nothing, the provider appeals, and round 1 (where the attacker's stake is locked, so none of its
    /// votes count) pays the provider. The attacker loses its one counted bond; it never had a second vote.
    function test_attack_oneStakeCannotCastTwoCountedVotes() public {
        (uint256 jobId, Job memory job) = _jobWhereAttackerHolds(2, 3);
        uint256 held = _seatsHeldBy(jobId, job, attacker);
        SeatVote[] memory seats = _seats(jobId, job, _rejectsBy(jobId, job, attacker));
        _openAppeal(job);
        vm.recordLogs();
        vm.prank(provider);
        market.appeal(jobId, job, seats);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(
            _count(logs, IJobMarket.SeatUnbacked.selector), held - 1, "every attacker seat after the first is unbacked"
        );
        assertEq(_account(attacker).locked, ATTACKER_STAKE, "its one stake is locked by its one counted vote");
        vm.expectRevert(abi.encodeWithSelector(IStaking.InsufficientFreeStake.selector, attacker, 0, ATTACKER_STAKE));
        vm.prank(attacker);
        market.requestUnbond(ATTACKER_STAKE);

        job = _afterAppeal(job);
        _finalize(jobId, job, _rejectsBy(jobId, job, attacker));
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "settled");
        assertEq(_account(provider).stake, PROVIDER_STAKE + 150_000e18, "the honest provider is never slashed");
        assertEq(
            _account(provider).balance, job.spec.budget + 31 * uint256(job.spec.validatorFee), "paid, bond returned"
        );
        assertEq(_account(attacker).stake, 0, "the attacker lost the bond its counted vote locked");
        assertEq(_account(attacker).locked, 0, "nothing stays locked");
    }

    /// @dev The attacker's stake is locked by a seat in an appealed job; meanwhile it draws a seat in another job and
    /// votes against the honest majority there. That vote is unbacked: it counts for nothing, so the concurrent job
    /// is decided by the backed seats, and the attacker is not paid for it.
    function test_attack_stakeLockedInOneJobCannotVoteInAnother() public {
        (uint256 first, Job memory firstJob) = _jobWhereAttackerHolds(1, 1);
        SeatVote[] memory seats = _seats(first, firstJob, _rejectsBy(first, firstJob, attacker));
        _openAppeal(firstJob);
        vm.prank(provider);
        market.appeal(first, firstJob, seats);
        assertGe(_account(attacker).locked, _seatBondOf(_bigSpec(), 3), "locked by the appealed seat");

        (uint256 second, Job memory secondJob) = _jobWhereAttackerHolds(1, 3);
        uint256 held = _seatsHeldBy(second, secondJob, attacker);
        uint256 balance = _account(attacker).balance;
        vm.recordLogs();
        _finalize(second, secondJob, _rejectsBy(second, secondJob, attacker));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_count(logs, IJobMarket.SeatUnbacked.selector), held, "no attacker vote counted");
        assertEq(_account(attacker).balance, balance, "an unbacked vote earns nothing");
        // The attacker's rejection is not among the votes counted, so it cannot reject the job (the honest seats
        // decide, or, when they are locked by the same appeal, nothing is decided and the provider appeals).
        (Outcome outcome,, uint8 rejects) = _finalized(logs, second);
        assertEq(rejects, 0, "no rejection counted");
        assertTrue(outcome != Outcome.Rejected, "the honest provider is not rejected");
        assertEq(_account(provider).stake, PROVIDER_STAKE + 150_000e18, "nor slashed");
        assertEq(_account(attacker).locked, _seatBondOf(_bigSpec(), 3), "still locked by the appealed seat only");
    }

    /// @dev A seat that sees it will lose unbonds its stake before the votes are revealed, so that its vote is
    /// unbacked. The vote stops counting, but the bond is still paid, from the unbonding stake.
    function test_attack_unbondingBeforeTheRevealDoesNotEscapeTheBond() public {
        (uint256 jobId, Job memory job) = _jobWhereAttackerHolds(1, 1);
        SeatVote[] memory seats = _seats(jobId, job, _rejectsBy(jobId, job, attacker));
        _closeWindow(job);
        vm.prank(attacker);
        market.requestUnbond(ATTACKER_STAKE);
        vm.recordLogs();
        market.finalize(jobId, job, seats);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_count(logs, IJobMarket.SeatUnbacked.selector), 1, "the vote was unbacked");
        (Outcome outcome,,) = _finalized(logs, jobId);
        assertEq(uint256(outcome), uint256(Outcome.Accepted), "the honest seats decided");
        assertEq(
            _account(attacker).unbonding, ATTACKER_STAKE - _seatBondOf(job.spec, 3), "the bond came from unbonding"
        );
    }

    // ------------------------------------------------------------------ helpers

    /// @dev A job worth 5,000 (a seat's bond is 2,500, the attacker's whole stake).
    function _bigSpec() private pure returns (JobSpec memory spec) {
        spec = _spec();
        spec.budget = 5_000e18;
        spec.collateral = 500e18;
    }

    /// @dev Submits jobs until the attacker holds between `least` and `most` seats of one (other jobs stay open).
    function _jobWhereAttackerHolds(uint256 least, uint256 most) private returns (uint256 jobId, Job memory job) {
        for (uint256 tries; tries < 300; ++tries) {
            (jobId, job) = _submitted(_bigSpec());
            uint256 held = _seatsHeldBy(jobId, job, attacker);
            if (held >= least && held <= most) return (jobId, job);
        }
        revert("the attacker drew no such committee in 300 jobs");
    }

    /// @dev The attacker's events with `topic` (its address is the second indexed topic).
    function _count(Vm.Log[] memory logs, bytes32 topic) private view returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic && address(uint160(uint256(logs[i].topics[2]))) == attacker) ++count;
        }
    }

    /// @dev `JobFinalized`'s outcome, accepts and rejects.
    function _finalized(Vm.Log[] memory logs, uint256 jobId) private pure returns (Outcome, uint8, uint8) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IJobMarket.JobFinalized.selector && uint256(logs[i].topics[1]) == jobId) {
                return abi.decode(logs[i].data, (Outcome, uint8, uint8));
            }
        }
        revert("no JobFinalized");
    }
}
