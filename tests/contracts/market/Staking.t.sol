// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {Account, Capabilities, Job, JobSpec, Role} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice Registration, stake, unbonding, withdrawals and the account views.
contract StakingTest is Fixture {
    address private newcomer = address(0xC0FFEE);

    // ------------------------------------------------------------------ registerProvider

    function test_registerProvider_setsRoleCapabilitiesAndMetadata() public {
        Capabilities memory caps = _caps();
        vm.expectEmit(address(market));
        emit IStaking.ProviderRegistered(newcomer, caps, bytes32("meta"));
        vm.prank(newcomer);
        market.registerProvider(caps, bytes32("meta"));

        assertEq(uint8(_account(newcomer).role), uint8(Role.Provider), "role");
        assertEq(keccak256(abi.encode(market.capabilitiesOf(newcomer))), keccak256(abi.encode(caps)), "caps");
        assertEq(market.metadataOf(newcomer), bytes32("meta"), "metadata");
    }

    function test_registerProvider_updatesCapabilitiesAndMetadata() public {
        Capabilities memory caps = _caps();
        caps.gpuCount = 8;
        caps.pricePerHour = 9e18;
        vm.prank(provider);
        market.registerProvider(caps, bytes32("v2"));
        assertEq(market.capabilitiesOf(provider).gpuCount, 8, "gpus");
        assertEq(market.capabilitiesOf(provider).pricePerHour, 9e18, "price");
        assertEq(market.metadataOf(provider), bytes32("v2"), "metadata");
        assertEq(_account(provider).stake, PROVIDER_STAKE, "stake kept");
    }

    function test_registerProvider_revertsForValidator() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.RoleAlreadyAssigned.selector, validators[0], Role.Validator));
        vm.prank(validators[0]);
        market.registerProvider(_caps(), 0);
    }

    function testFuzz_registerProvider_roundTripsCapabilities(Capabilities memory caps, bytes32 digest) public {
        vm.prank(newcomer);
        market.registerProvider(caps, digest);
        assertEq(keccak256(abi.encode(market.capabilitiesOf(newcomer))), keccak256(abi.encode(caps)), "caps");
        assertEq(market.metadataOf(newcomer), digest, "metadata");
    }

    // ------------------------------------------------------------------ registerValidator

    function test_registerValidator_putsValidatorOnRosterWithItsStake() public {
        _stakeAs(newcomer, MIN_VALIDATOR_STAKE);
        uint256 totalBefore = Roster.sumOf(market.rosterRoot());
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(newcomer, VALIDATORS, MIN_VALIDATOR_STAKE);
        vm.expectEmit(address(market));
        emit IStaking.ValidatorRegistered(newcomer, VALIDATORS);
        vm.prank(newcomer);
        market.registerValidator();
        assertEq(market.validatorCount(), VALIDATORS + 1, "count");
        (bool live, uint256 leaf) = market.rosterLeafOf(newcomer);
        assertTrue(live, "live");
        assertEq(leaf, VALIDATORS, "next free leaf");
        assertEq(_weightOf(newcomer), MIN_VALIDATOR_STAKE, "weight = stake");
        assertEq(Roster.sumOf(market.rosterRoot()), totalBefore + MIN_VALIDATOR_STAKE, "total");
        assertEq(uint8(_account(newcomer).role), uint8(Role.Validator), "role");
    }

    function test_registerValidator_revertsWhenAlreadyListed() public {
        // The error reports the leaf plus one (zero would mean off the roster).
        vm.expectRevert(abi.encodeWithSelector(IStaking.ValidatorAlreadyRegistered.selector, validators[2], 3));
        vm.prank(validators[2]);
        market.registerValidator();
    }

    // ------------------------------------------------------------------ roster

    function test_stake_raisesRosterWeight() public {
        address validator = validators[1];
        uint256 totalBefore = Roster.sumOf(market.rosterRoot());
        _fund(validator, 250e18);
        _approveMarket(validator, 250e18);
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(validator, 1, VALIDATOR_STAKE + 250e18);
        vm.prank(validator);
        market.stake(250e18);
        assertEq(_weightOf(validator), VALIDATOR_STAKE + 250e18, "weight");
        assertEq(Roster.sumOf(market.rosterRoot()), totalBefore + 250e18, "total");
    }

    function test_requestUnbond_aboveMinimumLowersRosterWeight() public {
        address validator = validators[3];
        uint96 amount = VALIDATOR_STAKE - MIN_VALIDATOR_STAKE; // exactly the minimum stays bonded
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(validator, 3, MIN_VALIDATOR_STAKE);
        vm.prank(validator);
        market.requestUnbond(amount);
        (bool live, uint256 leaf) = market.rosterLeafOf(validator);
        assertTrue(live, "still live");
        assertEq(leaf, 3, "same leaf");
        assertEq(_weightOf(validator), MIN_VALIDATOR_STAKE, "weight");
        assertEq(market.validatorCount(), VALIDATORS, "count");
    }

    function test_requestUnbond_belowMinimumRemovesFromRosterAndLeafIsReused() public {
        address leaving = validators[2];
        uint256 totalBefore = Roster.sumOf(market.rosterRoot());
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(leaving, 2, 0);
        vm.prank(leaving);
        market.requestUnbond(VALIDATOR_STAKE - MIN_VALIDATOR_STAKE + 1);
        (bool live,) = market.rosterLeafOf(leaving);
        assertTrue(!live, "off the roster");
        assertEq(market.validatorCount(), VALIDATORS - 1, "count");
        assertEq(Roster.sumOf(market.rosterRoot()), totalBefore - VALIDATOR_STAKE, "total");
        assertEq(market.rosterNode(Roster.CAPACITY + 2), bytes32(0), "leaf cleared");
        assertEq(uint8(_account(leaving).role), uint8(Role.Validator), "still a validator");

        // The next validator to join takes the freed leaf.
        address next = _addValidator(0xBEEF, MIN_VALIDATOR_STAKE);
        (bool nextLive, uint256 nextLeaf) = market.rosterLeafOf(next);
        assertTrue(nextLive, "joined");
        assertEq(nextLeaf, 2, "freed leaf reused");
        assertEq(market.validatorCount(), VALIDATORS, "count back");

        // Staking back above the minimum puts the leaver on the roster again.
        _fund(leaving, 1);
        _approveMarket(leaving, 1);
        vm.prank(leaving);
        market.stake(1);
        (live,) = market.rosterLeafOf(leaving);
        assertTrue(live, "back on the roster");
        assertEq(_weightOf(leaving), MIN_VALIDATOR_STAKE, "weight");
        assertEq(market.validatorCount(), VALIDATORS + 1, "count");
    }

    function test_slash_lowersRosterWeightAndRemovesBelowMinimum() public {
        // One live validator holds every seat; each job one of its seats stays silent and loses its bond.
        JobSpec memory spec = _spec();
        spec.budget = 10e18; // bond = max(VALIDATOR_SLASH, budget / 2) = VALIDATOR_SLASH
        for (uint256 i; i < VALIDATORS; ++i) {
            vm.prank(validators[i]);
            market.requestUnbond(VALIDATOR_STAKE);
        }
        address a = _addValidator(0xD001, MIN_VALIDATOR_STAKE + VALIDATOR_SLASH / 2 + VALIDATOR_SLASH);
        assertEq(market.validatorCount(), 1, "one live validator");
        (, uint256 leaf) = market.rosterLeafOf(a);

        (uint256 jobId, Job memory job) = _submitted(spec);
        _closeWindow(job);
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Silent, Ballot.Approve, Ballot.Approve));
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(a, leaf, MIN_VALIDATOR_STAKE + VALIDATOR_SLASH / 2);
        market.finalize(jobId, job, seats);
        assertEq(_weightOf(a), MIN_VALIDATOR_STAKE + VALIDATOR_SLASH / 2, "weight = stake after a slash");
        assertEq(_account(a).stake, MIN_VALIDATOR_STAKE + VALIDATOR_SLASH / 2, "stake");

        (jobId, job) = _submitted(spec);
        _closeWindow(job);
        seats = _seats(jobId, job, _ballots(Ballot.Silent, Ballot.Approve, Ballot.Approve));
        vm.expectEmit(address(market));
        emit IStaking.ValidatorWeightChanged(a, leaf, 0);
        market.finalize(jobId, job, seats);
        (bool live,) = market.rosterLeafOf(a);
        assertTrue(!live, "left the roster below the minimum");
        assertEq(market.validatorCount(), 0, "count");
        assertEq(Roster.sumOf(market.rosterRoot()), 0, "empty roster");
    }

    function test_registerValidator_revertsForProvider() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.RoleAlreadyAssigned.selector, provider, Role.Provider));
        vm.prank(provider);
        market.registerValidator();
    }

    function test_registerValidator_revertsWhenStakeTooLow() public {
        _stakeAs(newcomer, MIN_VALIDATOR_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.StakeBelowMinimum.selector, newcomer, MIN_VALIDATOR_STAKE - 1, MIN_VALIDATOR_STAKE
            )
        );
        vm.prank(newcomer);
        market.registerValidator();
    }

    // ------------------------------------------------------------------ stake

    function test_stake_addsToStakeAndSpendsAllowance() public {
        _fund(newcomer, 30e18);
        _approveMarket(newcomer, 50e18);
        vm.expectEmit(address(market));
        emit IStaking.Staked(newcomer, 30e18, 30e18);
        vm.prank(newcomer);
        market.stake(30e18);
        assertEq(_account(newcomer).stake, 30e18, "stake");
        assertEq(token.balanceOf(newcomer), 0, "pulled");
        assertEq(token.allowance(newcomer, address(market)), 20e18, "allowance spent");
    }

    function test_stake_revertsWithoutAllowance() public {
        _fund(newcomer, 30e18);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 30e18)
        );
        vm.prank(newcomer);
        market.stake(30e18);
    }

    function test_stake_revertsWhenAllowanceShort() public {
        _fund(newcomer, 30e18);
        _approveMarket(newcomer, 30e18 - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 30e18 - 1, 30e18)
        );
        vm.prank(newcomer);
        market.stake(30e18);
    }

    function test_stake_revertsOnZero() public {
        vm.expectRevert(IStaking.ZeroAmount.selector);
        vm.prank(newcomer);
        market.stake(0);
    }

    function test_stake_revertsWhenBalanceTooLow() public {
        _fund(newcomer, 1e18);
        _approveMarket(newcomer, 2e18);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, newcomer, 1e18, 2e18));
        vm.prank(newcomer);
        market.stake(2e18);
    }

    function testFuzz_stake_accumulates(uint96 first, uint96 second) public {
        first = uint96(uint256(first) % 1_000_000e18) + 1;
        second = uint96(uint256(second) % 1_000_000e18) + 1;
        _stakeAs(newcomer, first);
        _stakeAs(newcomer, second);
        assertEq(_account(newcomer).stake, uint256(first) + second, "stake");
    }

    function test_stakeWithPermit_stakesWithSignedPermit() public {
        (address signer, uint256 key) = (vm.addr(0xD00D), 0xD00D);
        _fund(signer, 40e18);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, 40e18, 1e12);
        vm.prank(signer);
        market.stakeWithPermit(40e18, 1e12, v, r, s);
        assertEq(_account(signer).stake, 40e18, "stake");
        assertEq(token.nonces(signer), 1, "permit used");
        assertEq(token.allowance(signer, address(market)), 0, "permitted allowance spent");
    }

    function test_stakeWithPermit_succeedsWhenPermitWasAlreadyUsed() public {
        (address signer, uint256 key) = (vm.addr(0xD00D), 0xD00D);
        _fund(signer, 40e18);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, 40e18, 1e12);
        token.permit(signer, address(market), 40e18, 1e12, v, r, s); // someone front-runs the permit
        vm.prank(signer);
        market.stakeWithPermit(40e18, 1e12, v, r, s);
        assertEq(_account(signer).stake, 40e18, "stake");
        assertEq(token.allowance(signer, address(market)), 0, "front-run allowance spent");
    }

    function test_stakeWithPermit_revertsWithInsufficientAllowanceWhenPermitFails() public {
        (address signer, uint256 key) = (vm.addr(0xD00D), 0xD00D);
        _fund(signer, 40e18);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, 39e18, 1e12); // signed for another amount
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 40e18)
        );
        vm.prank(signer);
        market.stakeWithPermit(40e18, 1e12, v, r, s);
    }

    function test_stakeWithPermit_usesStandingAllowanceWhenPermitFails() public {
        (address signer, uint256 key) = (vm.addr(0xD00D), 0xD00D);
        _fund(signer, 40e18);
        _approveMarket(signer, 40e18);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(key, 40e18, 1e12);
        vm.warp(1e12 + 1); // the permit expired on the way
        vm.prank(signer);
        market.stakeWithPermit(40e18, 1e12, v, r, s);
        assertEq(_account(signer).stake, 40e18, "stake");
        assertEq(token.nonces(signer), 0, "permit not applied");
    }

    // ------------------------------------------------------------------ unbonding

    function test_requestUnbond_movesFreeStakeToUnbonding() public {
        uint64 releaseAt = uint64(_now()) + UNBONDING_DELAY;
        vm.expectEmit(address(market));
        emit IStaking.UnbondRequested(provider, 1_000e18, releaseAt);
        vm.prank(provider);
        market.requestUnbond(1_000e18);
        Account memory account = _account(provider);
        assertEq(account.stake, PROVIDER_STAKE - 1_000e18, "stake");
        assertEq(account.unbonding, 1_000e18, "unbonding");
        assertEq(account.unbondingReleaseAt, releaseAt, "release");
    }

    function test_requestUnbond_revertsOnZero() public {
        vm.expectRevert(IStaking.ZeroAmount.selector);
        vm.prank(provider);
        market.requestUnbond(0);
    }

    function test_requestUnbond_revertsWhenAmountExceedsFreeStake() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _claim(jobId, job, provider); // locks 200e18
        uint256 free = PROVIDER_STAKE - job.spec.collateral;
        vm.expectRevert(abi.encodeWithSelector(IStaking.InsufficientFreeStake.selector, provider, free, free + 1));
        vm.prank(provider);
        market.requestUnbond(uint96(free + 1));
    }

    function test_requestUnbond_restartsDelayForWholeAmount() public {
        vm.prank(provider);
        market.requestUnbond(1e18);
        _wait(3 days);
        vm.prank(provider);
        market.requestUnbond(2e18);
        Account memory account = _account(provider);
        assertEq(account.unbonding, 3e18, "unbonding");
        assertEq(account.unbondingReleaseAt, _now() + UNBONDING_DELAY, "release restarted");
    }

    function test_withdrawUnbonded_paysAfterDelay() public {
        vm.prank(provider);
        market.requestUnbond(500e18);
        _wait(UNBONDING_DELAY);
        vm.expectEmit(address(market));
        emit IStaking.UnbondedWithdrawn(provider, 500e18);
        vm.prank(provider);
        market.withdrawUnbonded();
        assertEq(token.balanceOf(provider), 500e18, "paid");
        assertEq(_account(provider).unbonding, 0, "cleared");
    }

    function test_withdrawUnbonded_revertsBeforeRelease() public {
        vm.prank(provider);
        market.requestUnbond(500e18);
        uint64 releaseAt = uint64(_now()) + UNBONDING_DELAY;
        _wait(UNBONDING_DELAY - 1);
        vm.expectRevert(abi.encodeWithSelector(IStaking.UnbondingLocked.selector, provider, releaseAt));
        vm.prank(provider);
        market.withdrawUnbonded();
    }

    function test_withdrawUnbonded_revertsWhenNothingUnbonding() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.NothingUnbonding.selector, provider));
        vm.prank(provider);
        market.withdrawUnbonded();
    }

    function testFuzz_withdrawUnbonded_releasesExactlyAtDelay(uint96 amount, uint32 wait) public {
        amount = uint96(uint256(amount) % PROVIDER_STAKE) + 1;
        uint256 waited = uint256(wait) % (2 * uint256(UNBONDING_DELAY));
        vm.prank(provider);
        market.requestUnbond(amount);
        uint64 releaseAt = uint64(_now()) + UNBONDING_DELAY;
        _wait(waited);
        if (waited < UNBONDING_DELAY) {
            vm.expectRevert(abi.encodeWithSelector(IStaking.UnbondingLocked.selector, provider, releaseAt));
        }
        vm.prank(provider);
        market.withdrawUnbonded();
        if (waited >= UNBONDING_DELAY) assertEq(token.balanceOf(provider), amount, "paid");
    }

    // ------------------------------------------------------------------ withdraw

    function test_withdraw_paysBalanceAndMintsOwedReward() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _finalize(jobId, job, _ballots(Ballot.Approve, 3));
        uint256 supply = token.totalSupply();

        vm.expectEmit(address(market));
        emit IStaking.Withdrawn(provider, job.spec.budget, job.spec.reward);
        vm.prank(provider);
        market.withdraw();
        assertEq(token.balanceOf(provider), uint256(job.spec.budget) + job.spec.reward, "paid");
        assertEq(token.totalSupply(), supply + job.spec.reward, "reward minted");
        assertEq(_account(provider).balance, 0, "balance cleared");
        assertEq(_account(provider).rewardOwed, 0, "reward cleared");
    }

    function test_withdraw_revertsWhenNothingOwed() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.NothingToWithdraw.selector, newcomer));
        vm.prank(newcomer);
        market.withdraw();
    }

    // ------------------------------------------------------------------ views

    function test_accountOf_reportsEveryField() public {
        (uint256 jobId, Job memory job) = _post(_spec());
        _claim(jobId, job, provider);
        vm.prank(provider);
        market.requestUnbond(7e18);
        Account memory account = _account(provider);
        assertEq(uint8(account.role), uint8(Role.Provider), "role");
        assertEq(account.stake, PROVIDER_STAKE - 7e18, "stake");
        assertEq(account.locked, job.spec.collateral, "locked");
        assertEq(account.unbonding, 7e18, "unbonding");
        assertEq(account.unbondingReleaseAt, _now() + UNBONDING_DELAY, "release");
        assertEq(account.balance, 0, "balance");
    }

    function test_rosterWeights_equalStakes() public view {
        uint256 total;
        for (uint256 i; i < VALIDATORS; ++i) {
            (bool live, uint256 leaf) = market.rosterLeafOf(validators[i]);
            assertTrue(live, "live");
            assertEq(leaf, i, "leaves in registration order");
            assertEq(_weightOf(validators[i]), _account(validators[i]).stake, "weight");
            total += _account(validators[i]).stake;
        }
        assertEq(Roster.sumOf(market.rosterRoot()), total, "total");
        assertEq(market.validatorCount(), VALIDATORS, "count");
    }

    function _weightOf(address validator) private view returns (uint256) {
        (bool live, uint256 leaf) = market.rosterLeafOf(validator);
        return live ? Roster.sumOf(market.rosterNode(Roster.CAPACITY + leaf)) : 0;
    }
}
