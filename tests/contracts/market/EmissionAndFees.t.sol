// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {IGoverned} from "../../../contracts/interfaces/IGoverned.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {
    Job,
    JobSpec,
    JobSpecField,
    JobStatus,
    MarketConfig,
    Outcome,
    VerificationMode
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";

/// @notice The protocol fee (escrowed at post, burned on acceptance, refunded on every other path), rewards only
/// for committee-verified work within a per-epoch cap, and the minimum collateral ratio.
contract EmissionAndFeesTest is Fixture {
    /// @dev Room for one default job's reward (1,000 tokens at 5 % = 50) and a part of a second.
    uint96 private constant SMALL_EPOCH_CAP = 70e18;

    function _config() internal pure override returns (MarketConfig memory cfg) {
        cfg = super._config();
        cfg.epochRewardCap = SMALL_EPOCH_CAP;
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_revertsWhenRewardBpsNotBelowFeeBps() public {
        MarketConfig memory cfg = _config();
        cfg.rewardBps = cfg.feeBps;
        vm.expectRevert(abi.encodeWithSelector(IGoverned.InvalidFeeBps.selector, cfg.feeBps, cfg.rewardBps, 10_000));
        this.deploy(
            "CrowdMarket.sol:CrowdMarket",
            abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, address(0x6077), address(0x6A4D))
        );
    }

    function test_constructor_revertsWhenFeeBpsAboveOneHundredPercent() public {
        MarketConfig memory cfg = _config();
        cfg.feeBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(IGoverned.InvalidFeeBps.selector, 10_001, cfg.rewardBps, 10_000));
        this.deploy(
            "CrowdMarket.sol:CrowdMarket",
            abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, address(0x6077), address(0x6A4D))
        );
    }

    function test_constructor_revertsOnZeroEpochLength() public {
        MarketConfig memory cfg = _config();
        cfg.epochLength = 0;
        vm.expectRevert(abi.encodeWithSelector(IGoverned.InvalidEpochLength.selector));
        this.deploy(
            "CrowdMarket.sol:CrowdMarket",
            abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, address(0x6077), address(0x6A4D))
        );
    }

    function test_constructor_acceptsNeitherRewardNorFee() public {
        MarketConfig memory cfg = _config();
        (cfg.rewardBps, cfg.feeBps) = (0, 0);
        ICrowdMarket fresh = _deployMarket(cfg, INITIAL_SUPPLY, CAP);
        assertEq(fresh.config().feeBps, 0, "no fee");
    }

    function test_config_reportsEveryField() public view {
        MarketConfig memory cfg = market.config();
        assertEq(cfg.feeBps, FEE_BPS, "feeBps");
        assertEq(cfg.minCollateralBps, MIN_COLLATERAL_BPS, "minCollateralBps");
        assertEq(cfg.epochLength, EPOCH_LENGTH, "epochLength");
        assertEq(cfg.epochRewardCap, SMALL_EPOCH_CAP, "epochRewardCap");
    }

    // ------------------------------------------------------------------ collateral ratio

    function test_postJob_revertsWhenCollateralBelowMinimumRatio() public {
        JobSpec memory spec = _spec(); // 1,000 tokens: at least 100 of collateral
        spec.collateral = 100e18 - 1;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.InvalidJobSpec.selector, JobSpecField.Collateral, spec.collateral, 100e18)
        );
        vm.prank(requester);
        market.postJob(spec);
    }

    function test_postJob_acceptsCollateralAtMinimumRatio() public {
        JobSpec memory spec = _spec();
        spec.collateral = 100e18;
        (uint256 jobId,) = _post(spec);
        assertEq(uint8(market.statusOf(jobId)), uint8(JobStatus.Open), "posted");
    }

    function testFuzz_postJob_collateralRatioScalesWithBudget(uint96 budget, uint96 collateral) public {
        JobSpec memory spec = _spec();
        spec.budget = uint96(uint256(budget) % 100_000e18) + 1;
        spec.collateral = uint96(uint256(collateral) % 20_000e18);
        uint256 required = uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000;
        if (required < 3 * uint256(spec.validatorFee)) required = 3 * uint256(spec.validatorFee);
        _fund(requester, _escrowOf(spec));
        _approveMarket(requester, _escrowOf(spec));
        if (spec.collateral < required) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IJobMarket.InvalidJobSpec.selector, JobSpecField.Collateral, spec.collateral, required
                )
            );
        }
        vm.prank(requester);
        market.postJob(spec);
    }

    // ------------------------------------------------------------------ the fee at post

    function test_postJob_recordsFeeRoundedUpAndRewardRoundedDown() public {
        JobSpec memory spec = _spec();
        spec.budget = 1; // 1 * 600 / 10_000: the fee rounds up to 1, the reward down to 0
        spec.collateral = 3 * spec.validatorFee;
        (, Job memory job) = _post(spec);
        assertEq(job.spec.protocolFee, 1, "fee");
        assertEq(job.spec.reward, 0, "reward");
        assertEq(market.hashJob(job), keccak256(abi.encode(job)), "stored as the fixture expects");
    }

    function test_postJob_modeNoneReservesNoReward() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize, spec.samplesPerValidator) = (VerificationMode.None, 0, 0);
        uint256 remaining = market.rewardsRemaining();
        uint256 wallet = token.balanceOf(requester);
        (, Job memory job) = _post(spec);
        assertEq(job.spec.reward, 0, "no reward");
        assertEq(market.rewardsRemaining(), remaining, "nothing reserved");
        assertEq(wallet - token.balanceOf(requester), uint256(spec.budget) + 60e18, "budget plus the 6 % fee");
    }

    // ------------------------------------------------------------------ the fee at settlement

    function test_finalize_setsFeeAsideOnAcceptanceAndBurnFeesBurnsIt() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        (uint256 otherId, Job memory other) = _submitted(_spec());
        uint256 supply = token.totalSupply();
        uint256 held = token.balanceOf(address(market));
        _finalize(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));
        _finalize(otherId, other, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));
        uint256 fees = 2 * uint256(job.spec.protocolFee);
        assertEq(market.feesToBurn(), fees, "both fees set aside");
        assertEq(token.totalSupply(), supply, "not burned yet");
        assertEq(_account(requester).balance, 0, "no refund of the fee");

        vm.expectEmit(address(market));
        emit IJobMarket.FeesBurned(fees);
        vm.prank(address(0xCAFE)); // anyone
        assertEq(market.burnFees(), fees, "burned in one call");
        assertEq(supply - token.totalSupply(), fees, "fees burned");
        assertEq(held - token.balanceOf(address(market)), fees, "fees left the market");
        assertEq(market.feesToBurn(), 0, "nothing left to burn");
        assertEq(market.burnFees(), 0, "a second call burns nothing");
        assertEq(supply - token.totalSupply(), fees, "and does not burn twice");
    }

    function test_cancelJob_refundsFee() public {
        uint256 wallet = token.balanceOf(requester);
        (uint256 jobId, Job memory job) = _post(_spec());
        vm.prank(requester);
        market.cancelJob(jobId, job);
        assertEq(token.balanceOf(requester), wallet, "whole escrow back, fee included");
    }

    function test_finalize_refundsFeeWhenRejected() public {
        uint256 supply = token.totalSupply();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _finalize(jobId, job, _ballots(Ballot.Reject, Ballot.Reject, Ballot.Reject));
        assertEq(
            _account(requester).balance,
            uint256(job.spec.budget) + job.spec.protocolFee + job.spec.collateral,
            "budget, fee and collateral"
        );
        assertEq(token.totalSupply(), supply, "nothing burned");
    }

    function test_finalize_refundsFeeWhenUnverified() public {
        uint256 supply = token.totalSupply();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory silent = _seats(jobId, job, _ballots(Ballot.Silent, 3));
        _closeWindow(job);
        market.finalize(jobId, job, silent);
        assertEq(_account(requester).balance, _escrowOf(job.spec), "whole escrow, fee included");
        assertEq(token.totalSupply(), supply, "nothing burned");
    }

    function test_expireJob_refundsFee() public {
        uint256 supply = token.totalSupply();
        (uint256 jobId, Job memory job) = _post(_spec());
        job = _claim(jobId, job, provider);
        _wait(uint256(job.spec.runTimeout) + 1);
        market.expireJob(jobId, job);
        assertEq(_account(requester).balance, _escrowOf(job.spec) + job.spec.collateral, "escrow and collateral");
        assertEq(token.totalSupply(), supply, "nothing burned");
    }

    function test_expireJob_reopenedJobKeepsFeeUntilCancelled() public {
        JobSpec memory spec = _spec();
        spec.reopenOnFailure = true;
        uint256 wallet = token.balanceOf(requester);
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, provider);
        _wait(uint256(spec.runTimeout) + 1);
        market.expireJob(jobId, job);
        job = _reopened(job);
        vm.prank(requester);
        market.cancelJob(jobId, job);
        assertEq(token.balanceOf(requester), wallet, "escrow back at cancel, fee included");
        assertEq(_account(requester).balance, spec.collateral, "compensation");
    }

    // ------------------------------------------------------------------ rewards only for verified work

    function test_finalize_rewardsCommitteeMajority() public {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Silent));
        _closeWindow(job);
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).rewardOwed, 50e18, "5 % of the budget");
    }

    function test_finalize_noRewardWithoutCommitteeMajority() public {
        uint256 remaining = market.rewardsRemaining();
        (uint256 jobId, Job memory job) = _submitted(_spec());
        assertEq(market.rewardsRemaining(), remaining - 50e18, "reserved at post");
        // One approval of three seats decides nothing: the job closes Unverified and the reward goes back.
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Silent, Ballot.Silent));
        _closeWindow(job);
        vm.expectEmit(address(market));
        emit IJobMarket.JobFinalized(jobId, Outcome.Unverified, 1, 0);
        market.finalize(jobId, job, seats);
        assertEq(_account(provider).rewardOwed, 0, "no reward");
        assertEq(market.rewardsRemaining(), remaining, "reward returned to the emission");
    }

    function test_finalize_noRewardInModeNone() public {
        JobSpec memory spec = _spec();
        (spec.mode, spec.committeeSize, spec.samplesPerValidator) = (VerificationMode.None, 0, 0);
        (uint256 jobId, Job memory job) = _submitted(spec);
        _closeWindow(job);
        market.finalize(jobId, job, new SeatVote[](0));
        assertEq(_account(provider).balance, spec.budget, "paid");
        assertEq(_account(provider).rewardOwed, 0, "no reward");
    }

    // ------------------------------------------------------------------ the epoch cap

    function test_finalize_capsRewardsPerEpochAndReturnsTheRest() public {
        uint256 remaining = market.rewardsRemaining();
        _acceptOne(); // 50 of the epoch's 70
        (uint256 jobId, Job memory job) = _submitted(_spec());
        SeatVote[] memory seats = _seats(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));
        _closeWindow(job); // past the appeal window: the decision stands
        uint256 epoch = (_now() / EPOCH_LENGTH) & type(uint24).max;
        vm.expectEmit(address(market));
        emit IJobMarket.RewardCapped(jobId, 50e18, 20e18, epoch);
        market.finalize(jobId, job, seats);

        assertEq(_account(provider).rewardOwed, 70e18, "the cap, no more");
        assertEq(market.rewardsRemaining(), remaining - 70e18, "the unpaid 30 back in the emission");
        (uint256 recorded, uint256 rewarded) = market.epochRewards();
        assertEq(recorded, epoch, "epoch");
        assertEq(rewarded, SMALL_EPOCH_CAP, "epoch full");

        _acceptOne(); // still this epoch: nothing
        assertEq(_account(provider).rewardOwed, 70e18, "epoch spent");
        _wait(EPOCH_LENGTH);
        _acceptOne(); // the next epoch starts afresh
        assertEq(_account(provider).rewardOwed, 120e18, "next epoch");
        assertEq(market.rewardsRemaining(), remaining - 120e18, "only what was owed left the emission");
    }

    function _acceptOne() private {
        (uint256 jobId, Job memory job) = _submitted(_spec());
        _finalize(jobId, job, _ballots(Ballot.Approve, Ballot.Approve, Ballot.Approve));
    }
}
