// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {Job, JobSpec} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Attack 1 of the protocol review, "committee capture by idle sybils", played as the attacker would.
/// v1: sybils registered at the minimum stake, withdrew it and stayed on the list for free; drawn, they staked just
/// in time, voted the attacker's garbage through and slashed the honest rejecter. Now the draw is by bonded stake
/// from a snapshot taken at submission: withdrawn sybils are not on it, and stake that arrives after the
/// submission cannot prove a seat.
contract CommitteeCaptureAttackTest is Fixture {
    uint256 private constant SYBILS = 40;
    uint256 private constant SYBIL_KEY = 0x5B1000;

    address[] private sybils;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < SYBILS; ++i) {
            sybils.push(_addValidator(SYBIL_KEY + i, MIN_VALIDATOR_STAKE));
        }
    }

    /// @dev Every sybil unbonds its whole stake and withdraws it once the delay has passed.
    function _sybilsLeaveWithTheirDeposits() private {
        for (uint256 i; i < SYBILS; ++i) {
            vm.prank(sybils[i]);
            market.requestUnbond(MIN_VALIDATOR_STAKE);
        }
        _wait(UNBONDING_DELAY + 1);
        for (uint256 i; i < SYBILS; ++i) {
            vm.prank(sybils[i]);
            market.withdrawUnbonded();
        }
    }

    function _sybilStake() private view returns (uint256 total) {
        for (uint256 i; i < SYBILS; ++i) {
            total += market.accountOf(sybils[i]).stake;
        }
    }

    function test_attack_withdrawnSybilsLeaveNoEntryBehind() public {
        assertEq(market.validatorCount(), VALIDATORS + SYBILS, "sybils live while bonded");
        _sybilsLeaveWithTheirDeposits();
        assertEq(market.validatorCount(), VALIDATORS, "withdrawn sybils are off the roster");
        assertEq(Roster.sumOf(market.rosterRoot()), VALIDATORS * uint256(VALIDATOR_STAKE), "only bonded stake weighs");
        for (uint256 i; i < SYBILS; ++i) {
            (bool live,) = market.rosterLeafOf(sybils[i]);
            assertTrue(!live, "no free entry left behind");
        }
    }

    /// @notice The full play: sybils withdraw, a provider submits garbage, the sybils stake back just in time and
    /// try to prove seats. Their proofs fail against the snapshot; the honest committee rejects; the provider is
    /// slashed and unpaid, and no honest validator loses anything.
    function test_attack_justInTimeSybilsCannotTakeSeatsAndGarbageIsRejected() public {
        _sybilsLeaveWithTheirDeposits();
        uint256 providerBefore = _account(provider).stake;

        JobSpec memory spec = _spec();
        (uint256 jobId, Job memory job) = _submitted(spec);
        // The honest seats, proven against the roster as it was at submission.
        SeatVote[] memory honest = _seats(jobId, job, _ballots(Ballot.Reject, spec.committeeSize));

        // Just in time: every sybil stakes back (they are validators by role, so they rejoin the roster at once).
        for (uint256 i; i < SYBILS; ++i) {
            _stakeAs(sybils[i], MIN_VALIDATOR_STAKE);
        }
        assertEq(market.validatorCount(), VALIDATORS + SYBILS, "back on the live roster");

        // A sybil claims seat 0 with a proof from the live roster: it is not in the job's snapshot.
        SeatVote[] memory forged = _seats(jobId, job, _ballots(Ballot.Reject, spec.committeeSize));
        forged[0] = _seatVote(jobId, job, 0, sybils[0], Ballot.Approve);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotSeatHolder.selector, jobId, 0, sybils[0]));
        market.finalize(jobId, job, forged);

        // The honest committee decides.
        _closeWindow(job);
        market.finalize(jobId, job, honest);
        assertEq(_account(provider).stake, providerBefore - spec.collateral, "the cheating provider is slashed");
        assertEq(_account(provider).balance, 0, "and unpaid");
        for (uint256 i; i < VALIDATORS; ++i) {
            assertEq(_account(validators[i]).stake, VALIDATOR_STAKE, "no honest validator slashed");
        }
    }

    /// @notice Weight follows stake: 40 sybils at the minimum stake (2,000 tokens) against 6 honest validators at
    /// 1,000 each hold a quarter of the weight, so they hold about a quarter of the seats over many draws (v1 gave
    /// 40 list entries 87 % of the seats).
    function test_attack_sybilSeatShareFollowsStakeNotCount() public view {
        uint256 total = Roster.sumOf(market.rosterRoot());
        uint256 sybilWeight = _sybilStake();
        assertEq(sybilWeight * 4, total, "a quarter of the weight");
        uint256 sybilSeats;
        uint256 draws = 2_000;
        for (uint256 i; i < draws; ++i) {
            uint256 leaf = _leafAt(Roster.seatPosition(keccak256(abi.encode("draw", i)), 0, total));
            address holder = _holderOfLeaf(leaf);
            if (market.accountOf(holder).stake == MIN_VALIDATOR_STAKE) ++sybilSeats;
        }
        // Expected 500 of 2,000; 5 standard deviations (about 97) of slack.
        assertLe(sybilSeats, 600, "about a quarter of the seats");
        assertGe(sybilSeats, 400, "about a quarter of the seats");
    }

    /// @notice Filling the roster: the attacker holds every free leaf with bonded minimum stakes. An honest newcomer
    /// with more stake takes a leaf from a sybil (the sybil is evicted, keeping its stake); one with no more stake
    /// than the smallest holder cannot. Refundable entries no longer block anyone: they are live stake, drawn and
    /// bonded like any other.
    function test_attack_fullRosterIsJoinedByOutStakingAHolder() public {
        uint256 room = Roster.CAPACITY - market.validatorCount();
        for (uint256 i; i < room; ++i) {
            _addValidator(0xF111 + i, MIN_VALIDATOR_STAKE);
        }
        assertEq(market.validatorCount(), Roster.CAPACITY, "full");

        address newcomer = vm.addr(0xBEEF);
        validatorKeys[newcomer] = 0xBEEF;
        knownValidators.push(newcomer);
        _stakeAs(newcomer, MIN_VALIDATOR_STAKE + 1);
        vm.prank(newcomer);
        vm.expectRevert(abi.encodeWithSelector(Roster.RosterFull.selector, Roster.CAPACITY));
        market.registerValidator();

        (, uint256 sybilLeaf) = market.rosterLeafOf(sybils[3]);
        (, uint256 honestLeaf) = market.rosterLeafOf(validators[0]);
        vm.prank(newcomer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeNotAboveHolder.selector, honestLeaf, VALIDATOR_STAKE, MIN_VALIDATOR_STAKE + 1
            )
        );
        market.joinRoster(honestLeaf);

        vm.prank(newcomer);
        market.joinRoster(sybilLeaf);
        (bool live, uint256 leaf) = market.rosterLeafOf(newcomer);
        assertTrue(live && leaf == sybilLeaf, "the newcomer holds the sybil's leaf");
        (live,) = market.rosterLeafOf(sybils[3]);
        assertTrue(!live, "the sybil is off the roster");
        assertEq(market.accountOf(sybils[3]).stake, MIN_VALIDATOR_STAKE, "and keeps its stake");
    }
}
