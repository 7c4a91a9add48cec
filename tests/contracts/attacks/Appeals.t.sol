// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {
    FINAL_ROUND,
    Job,
    JobSpec,
    JobStatus,
    ROUND_1_SEATS,
    ROUND_2_SEATS,
    VerificationMode
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Appeals, played by the parties who would use or abuse them. A small committee can be captured by a
/// stake minority with real probability (a third of the stake wins 2 of 3 seats about a quarter of the time); the
/// loser of a round appeals to a fresh, larger committee (3 -> 31 -> 193 seats), drawn by stake from the roster at
/// the appeal with a later block's hash as seed. The side that loses the final round pays: its seats lose their
/// bonds, its appeal bonds go to the winners; an appellant the final round bears out gets its bond back.
contract AppealsAttackTest is Fixture {
    uint256 private constant ATTACKER_KEY = 0xBAD;
    uint96 private constant ATTACKER_STAKE = 2_500e18; // against 6,000 honest: 29 % of the stake

    address private attacker;

    function setUp() public override {
        super.setUp();
        attacker = _addValidator(ATTACKER_KEY, ATTACKER_STAKE);
        _fund(provider, 10_000e18);
        _approveMarket(provider, 10_000e18);
    }

    // ------------------------------------------------------------------ attacks

    /// @dev A stake minority wins a committee of 3 and rejects an honest provider's correct result. The provider
    /// appeals; 31 seats drawn by stake decide for it. It is paid, never slashed, and gets its bond back; the
    /// attacker loses the bonds of every seat it held on the losing side, in both rounds.
    function test_attack_capturedFirstRoundIsOverturnedOnAppeal() public {
        (uint256 jobId, Job memory job) = _capturedJob();
        uint256 attackerStake = _account(attacker).stake;
        uint256 attackerSeats = _seatsHeldBy(jobId, job, attacker);
        assertGe(attackerSeats, 2, "the attacker holds a majority of round 0");
        uint256 providerTokens = token.balanceOf(provider);

        job = _appealAs(provider, jobId, job, _rejectsBy(jobId, job, attacker));
        assertEq(job.state.round, 1, "round 1");
        assertEq(providerTokens - token.balanceOf(provider), ROUND_1_SEATS * job.spec.validatorFee, "bond paid");
        uint256 attackerSeats1 = _seatsHeldBy(jobId, job, attacker);
        assertLt(attackerSeats1 * 2, ROUND_1_SEATS, "a stake minority is a minority of 31 seats here");

        _finalize(jobId, job, _rejectsBy(jobId, job, attacker));

        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Closed), "settled");
        assertEq(_account(provider).stake, PROVIDER_STAKE, "the honest provider is never slashed");
        assertEq(
            _account(provider).balance,
            job.spec.budget + ROUND_1_SEATS * job.spec.validatorFee,
            "paid the budget and the appeal bond back"
        );
        uint256 lost = attackerSeats * _seatBondOf(job.spec, job.spec.committeeSize) + attackerSeats1
            * _seatBondOf(job.spec, ROUND_1_SEATS);
        assertEq(attackerStake - _account(attacker).stake, lost, "the attacker lost every losing seat's bond");
    }

    /// @dev A requester who wants its budget back appeals an honest acceptance, twice: each larger committee
    /// confirms it. The requester loses both appeal bonds to the seats that decided against it; the provider is
    /// paid; nothing can be appealed after the final round.
    function test_attack_requesterAppealsAgainstHonestAcceptanceAndPaysForIt() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        uint256 requesterTokens = token.balanceOf(requester);
        job = _appealAs(requester, jobId, job, _ballots(Ballot.Approve, job.spec.committeeSize));
        job = _appealAs(requester, jobId, job, _ballots(Ballot.Approve, ROUND_1_SEATS));
        assertEq(job.state.round, FINAL_ROUND, "final round");
        uint256 bonds = (ROUND_1_SEATS + ROUND_2_SEATS) * uint256(job.spec.validatorFee);
        assertEq(requesterTokens - token.balanceOf(requester), bonds, "both bonds paid");

        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, ROUND_2_SEATS));
        _openAppeal(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NoFurtherAppeal.selector, jobId));
        vm.prank(requester);
        market.appeal(jobId, job, seats);

        uint256 validatorBalances = _validatorBalances();
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).balance, job.spec.budget, "the provider is paid");
        assertEq(_account(provider).stake, PROVIDER_STAKE, "and not slashed");
        assertEq(_account(requester).balance, 0, "the requester gets nothing back: its bonds paid the appeals");
        // Every seat of every round approved: round 0's fees come from the escrow, the rest from the bonds.
        uint256 escrowFees = job.spec.committeeSize * uint256(job.spec.validatorFee);
        assertEq(_validatorBalances() - validatorBalances, escrowFees + bonds, "the winners share the bonds");
    }

    /// @dev Nobody votes in round 0 (the honest validators were offline): nothing is decided. The provider
    /// appeals instead of waiting for an Unverified close; round 1 decides, and the silent seats lose their bonds.
    function test_attack_silentFirstRoundEscalatesInsteadOfLeavingTheProviderUnpaid() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory silent = _committee(jobId, job);
        uint256[] memory stakes = new uint256[](silent.length);
        for (uint256 i; i < silent.length; ++i) {
            stakes[i] = _account(silent[i]).stake;
        }
        job = _appealAs(provider, jobId, job, _ballots(Ballot.Silent, job.spec.committeeSize));
        _finalize(jobId, job, _ballots(Ballot.Approve, ROUND_1_SEATS));
        assertEq(_account(provider).stake, PROVIDER_STAKE, "not slashed");
        assertEq(_account(provider).balance, job.spec.budget + ROUND_1_SEATS * job.spec.validatorFee, "paid, bond back");
        uint256 taken;
        for (uint256 i; i < silent.length; ++i) {
            bool counted;
            for (uint256 j; j < i; ++j) {
                if (silent[j] == silent[i]) counted = true;
            }
            if (!counted) taken += stakes[i] - _account(silent[i]).stake;
        }
        // Seats held by one validator lose one bond each; a validator's later round-1 earnings are balances.
        assertEq(
            taken, job.spec.committeeSize * _seatBondOf(job.spec, job.spec.committeeSize), "silent seats lost bonds"
        );
    }

    /// @dev A cheating provider appeals its rejection: the larger committee rejects again. It loses its collateral
    /// and its appeal bond.
    function test_attack_cheatingProviderAppealLosesCollateralAndBond() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        uint256 providerTokens = token.balanceOf(provider);
        job = _appealAs(provider, jobId, job, _ballots(Ballot.Reject, job.spec.committeeSize));
        _finalize(jobId, job, _ballots(Ballot.Reject, ROUND_1_SEATS));
        assertEq(_account(provider).stake, PROVIDER_STAKE - job.spec.collateral, "collateral slashed");
        assertEq(_account(provider).balance, 0, "nothing paid, bond not returned");
        assertEq(providerTokens - token.balanceOf(provider), ROUND_1_SEATS * job.spec.validatorFee, "bond lost");
    }

    // ------------------------------------------------------------------ rules

    function test_appeal_onlyInItsWindow() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Reject, 3));
        uint256 opens = _lastVoteBlock(job) + 1;
        uint256 closes = opens + job.spec.verifyBlocks - 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.AppealNotOpen.selector, jobId, opens, closes));
        vm.prank(provider);
        market.appeal(jobId, job, seats);
        _mine(closes + 1 - _block());
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.AppealNotOpen.selector, jobId, opens, closes));
        vm.prank(provider);
        market.appeal(jobId, job, seats);
    }

    function test_appeal_onlyByAPartyOrALosingSeat() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        address[] memory holders = _committee(jobId, job);
        Ballot[] memory ballots = _ballots(Ballot.Approve, 3);
        ballots[2] = Ballot.Reject;
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _openAppeal(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotEntitledToAppeal.selector, jobId, otherProvider));
        vm.prank(otherProvider);
        market.appeal(jobId, job, seats);
        if (holders[0] != holders[2]) {
            vm.expectRevert(abi.encodeWithSelector(IJobMarket.NotEntitledToAppeal.selector, jobId, holders[0]));
            vm.prank(holders[0]); // a winning seat
            market.appeal(jobId, job, seats);
        }
        _fund(holders[2], 1_000e18);
        _approveMarket(holders[2], 1_000e18);
        vm.prank(holders[2]); // the losing seat
        market.appeal(jobId, job, seats);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Submitted), "round 1 drawn");
    }

    function test_appeal_neverForAJobWithoutCommittee() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize, spec.samplesPerValidator) = (VerificationMode.None, 0, 0);
        (uint256 jobId, Job memory job) = _submitted(spec);
        _openAppeal(job);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.NoFurtherAppeal.selector, jobId));
        vm.prank(requester);
        market.appeal(jobId, job, new SeatVote[](0));
    }

    function test_appeal_finalRoundSettlesAsSoonAsEverySeatVoted() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        job = _appealAs(requester, jobId, job, _ballots(Ballot.Approve, job.spec.committeeSize));
        job = _appealAs(requester, jobId, job, _ballots(Ballot.Approve, ROUND_1_SEATS));
        market.finalize(jobId, job, _seats(jobId, job, _ballots(Ballot.Approve, ROUND_2_SEATS)));
        assertEq(_account(provider).balance, job.spec.budget, "settled before the window closed");
    }

    /// @dev Any ballots in rounds 0 and 1, any appellant: every token stays accounted for, an accepted job pays its
    /// provider exactly once and never slashes it. (The 193-seat final round costs about 16M gas a run to sign in
    /// the test: it is covered by the seeded table below.)
    function testFuzz_appeal_conservesTokens(uint256 ballotSeed, bool appealed, bool byProvider) public {
        _conserves(ballotSeed, appealed ? 1 : 0, byProvider);
    }

    /// @dev The same through the final round: 24 seeds of ballots, both appellants.
    function test_appeal_conservesTokensThroughTheFinalRound() public {
        for (uint256 seed; seed < 24; ++seed) {
            uint256 snapshot = vm.snapshotState();
            _conserves(uint256(keccak256(abi.encode("final round", seed))), FINAL_ROUND, seed % 2 == 0);
            vm.revertToState(snapshot);
        }
    }

    function _conserves(uint256 ballotSeed, uint256 rounds, bool byProvider) private {
        JobSpec memory spec = _spec();
        uint256 marketBefore = token.balanceOf(address(market)) - _held() - market.feesToBurn();
        (uint256 jobId, Job memory job) = _submitted(spec);
        for (uint256 round; round < rounds; ++round) {
            job = _appealAs(byProvider ? provider : requester, jobId, job, _randomBallots(job, ballotSeed, round));
        }
        Ballot[] memory last = _randomBallots(job, ballotSeed, rounds);
        _finalize(jobId, job, last);
        uint256 open = market.statusOf(jobId) == JobStatus.Open ? _escrowOf(spec) : 0;
        assertEq(token.balanceOf(address(market)), marketBefore + _held() + open + market.feesToBurn(), "conserved");
        if (_account(provider).balance >= spec.budget) {
            assertEq(_account(provider).stake, PROVIDER_STAKE, "an accepted provider is never slashed");
        }
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Posts jobs until one's round 0 is won by the attacker's stake (it holds at least 2 of 3 seats).
    function _capturedJob() private returns (uint256 jobId, Job memory job) {
        for (uint256 tries; tries < 60; ++tries) {
            (jobId, job) = _submitted(_spec());
            if (_seatsHeldBy(jobId, job, attacker) >= 2) return (jobId, job);
        }
        revert("no captured committee in 60 draws");
    }

    function _randomBallots(Job memory job, uint256 seed, uint256 round) private pure returns (Ballot[] memory list) {
        list = new Ballot[](_roundSeats(job));
        for (uint256 seat; seat < list.length; ++seat) {
            list[seat] = Ballot(uint256(keccak256(abi.encode(seed, round, seat))) % 3);
        }
    }

    /// @dev Appeals the current round as `who` with `ballots`, and returns the job as clients rebuild it from
    /// `JobAppealed`, with the new round's seed block mined.
    function _appealAs(address who, uint256 jobId, Job memory job, Ballot[] memory ballots)
        private
        returns (Job memory)
    {
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _openAppeal(job);
        vm.prank(who);
        market.appeal(jobId, job, seats);
        return _afterAppeal(job);
    }

    function _validatorBalances() private view returns (uint256 total) {
        for (uint256 i; i < knownValidators.length; ++i) {
            total += _account(knownValidators[i]).balance;
        }
    }

    /// @dev Everything the market owes its actors: stakes, unbonding stakes and balances.
    function _held() private view returns (uint256 total) {
        total = _accountTotal(requester) + _accountTotal(provider) + _accountTotal(otherProvider);
        for (uint256 i; i < knownValidators.length; ++i) {
            total += _accountTotal(knownValidators[i]);
        }
    }

    function _accountTotal(address who) private view returns (uint256) {
        return uint256(_account(who).stake) + _account(who).unbonding + _account(who).balance;
    }
}
