// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Job, JobSpec} from "../../../contracts/market/Types.sol";
import {Ballot} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice "Ties and abstentions let a requester get work for free", played as the attacker would: the requester's
/// sybil validators hold the committee's seats and stay silent, so nothing is decided and the requester is refunded
/// for work the provider did. Each silent seat loses `budget / ((size + 1) / 2)`, so blocking a decision costs at
/// least the budget it saves; and seats on the requester's own account are set aside, not counted.
contract RequesterSilenceAttackTest is Fixture {
    uint256 private constant SYBIL_KEY = 0x5171;
    uint96 private constant SYBIL_STAKE = 1_000_000e18; // far more than every honest validator together

    function _wealth(address account) private view returns (uint256) {
        return
            token.balanceOf(account) + _account(account).stake + _account(account).unbonding + _account(account).balance;
    }

    function test_attack_silentSybilSeatsCostMoreThanTheWorkTheyBlock() public {
        address sybil = _addValidator(SYBIL_KEY, SYBIL_STAKE);
        JobSpec memory spec = _spec();
        (uint256 jobId, Job memory job) = _submitted(spec);
        address[] memory holders = _committee(jobId, job);
        uint256 silent;
        Ballot[] memory ballots = new Ballot[](holders.length);
        for (uint256 seat; seat < holders.length; ++seat) {
            if (holders[seat] == sybil) ++silent;
            else ballots[seat] = Ballot.Approve; // honest seats, if any, approve the honest work
        }
        assertTrue(silent * 2 > holders.length, "the sybil holds a majority of the seats");
        uint256 before = _wealth(requester) + _wealth(sybil);

        _closeWindow(job);
        _finalize(jobId, job, ballots);

        // `before` is counted after the escrow was paid: had the committee been let to decide, the pair would end
        // where it started. Blocking the decision refunds the escrow but forfeits the silent seats' bonds.
        uint256 afterwards = _wealth(requester) + _wealth(sybil);
        assertLe(afterwards, before, "blocking the decision cost more than paying for the work");
        assertGe(_account(provider).balance, spec.budget, "the unjudged provider receives the bonds");
        assertEq(_account(provider).locked, 0, "the provider's collateral is released, not taken");
    }

    function test_attack_requesterOwnSeatsAreSetAsideAndTheRestDecide() public {
        // The requester stakes as a validator itself, with most of the stake.
        validatorKeys[requester] = requesterKey;
        knownValidators.push(requester);
        _stakeAs(requester, SYBIL_STAKE);
        vm.prank(requester);
        market.registerValidator();

        JobSpec memory spec = _spec();
        spec.committeeSize = 5;
        spec.collateral = 100e18;
        (uint256 jobId, Job memory job) = _submitted(spec);
        address[] memory holders = _committee(jobId, job);
        Ballot[] memory ballots = new Ballot[](holders.length);
        uint256 others;
        for (uint256 seat; seat < holders.length; ++seat) {
            if (holders[seat] != requester) {
                ballots[seat] = Ballot.Approve;
                ++others;
            }
        }
        uint256 providerBalance = _account(provider).balance;
        _closeWindow(job);
        _finalize(jobId, job, ballots);
        // Whether the other seats are many or none, the honest provider is paid: the requester's silence on its
        // own seats counts for nothing.
        assertEq(_account(provider).balance, providerBalance + spec.budget, "paid");
        assertLe(others, holders.length, "seats");
    }
}
