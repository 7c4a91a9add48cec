// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Account, Job, JobSpec, MarketConfig, VerificationMode} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {Fixture} from "../utils/Fixture.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Attack 3, emission drain: a requester and a provider that are the same person trade with each other and
/// recycle every payout (budget plus reward) into the next budget, hoping the minted rewards outgrow the fees.
/// Played on a market deployed as `chain/deploy.py` deploys it (100 M initial supply of a 1 B cap, its default
/// rates), with no honest validator: every validator is the pair's own sybil, so the pair gets every committee
/// fee and every validator slash back. The pair's wealth (tokens, stake, unbonding, balances and owed rewards of
/// all its accounts) must fall at every cycle it completes.
contract EmissionDrainTest is Fixture {
    uint256 private constant DEPLOY_INITIAL = 100_000_000e18;
    uint256 private constant DEPLOY_CAP = 1_000_000_000e18;
    uint16 private constant DEPLOY_REWARD_BPS = 100;
    uint16 private constant DEPLOY_FEE_BPS = 200;
    uint16 private constant DEPLOY_MIN_COLLATERAL_BPS = 1_000;
    uint64 private constant DEPLOY_EPOCH = 1 days;
    uint96 private constant DEPLOY_EPOCH_CAP = 250_000e18;
    uint96 private constant DEPLOY_MIN_STAKE = 100e18;

    address private pairProvider = address(0xD00D);
    address[] private sybils;

    function setUp() public override {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        market = _deployMarket(_config(), DEPLOY_INITIAL, DEPLOY_CAP);
        token = _tokenOf(market);
        requester = vm.addr(requesterKey);
        _registerProvider(pairProvider, _caps());
    }

    function _config() internal pure override returns (MarketConfig memory) {
        return MarketConfig({
            unbondingDelay: 7 days,
            minProviderStake: DEPLOY_MIN_STAKE,
            minValidatorStake: DEPLOY_MIN_STAKE,
            validatorSlash: 10e18,
            rewardBps: DEPLOY_REWARD_BPS,
            feeBps: DEPLOY_FEE_BPS,
            minCollateralBps: DEPLOY_MIN_COLLATERAL_BPS,
            epochLength: DEPLOY_EPOCH,
            epochRewardCap: DEPLOY_EPOCH_CAP
        });
    }

    // ------------------------------------------------------------------ the attack as reported

    /// @notice The reported replay: mode None, no committee, verifyBlocks 1, starting from 1 % of the initial
    /// supply, 72 cycles. It used to mint the whole remaining cap; now mode None earns no reward and each cycle
    /// burns the protocol fee, so the pair mints nothing and ends poorer by exactly the fees.
    function test_attack_emissionDrainInModeNoneMintsNothingAndLosesFees() public {
        uint256 start = DEPLOY_INITIAL / 100;
        // The least collateral is 10 % of the budget now: the pair stakes a tenth of its tokens to post at all.
        _fund(requester, start - start / 10);
        _stakeAs(pairProvider, uint96(start / 10));
        uint256 emission = market.rewardsRemaining();
        uint256 supply = token.totalSupply();
        uint256 wealth = _pairWealth();
        assertEq(wealth, start, "starting wealth");

        uint256 fees;
        for (uint256 cycle; cycle < 72; ++cycle) {
            uint256 balance = token.balanceOf(requester);
            // all the requester holds, less the fee, within what the provider's stake can collateralise
            uint256 budget = balance * 10_000 / (10_000 + DEPLOY_FEE_BPS);
            if (budget + _feeOf(budget) > balance) --budget;
            uint256 stakeCap = uint256(_account(pairProvider).stake) * 10_000 / DEPLOY_MIN_COLLATERAL_BPS;
            if (budget > stakeCap) budget = stakeCap;
            JobSpec memory spec = _selfDealSpec(uint96(budget), VerificationMode.None, 0, 0);
            fees += _feeOf(budget);
            _cycle(spec, 0, 0);
        }

        assertEq(market.rewardsRemaining(), emission, "nothing reserved or owed");
        assertEq(market.burnFees(), fees, "every fee was set aside");
        assertEq(token.totalSupply(), supply - fees, "nothing minted, the fees burned");
        assertEq(_pairWealth(), wealth - fees, "the pair lost exactly the fees");
        assertGt(fees, 72 * 190e18, "each cycle cost about 2 % of ~10 k tokens");
    }

    /// @notice The same pair with a real committee, every seat its own sybil (it gets each committee fee back):
    /// the committee's approval earns the reward, but the reward (1 %) stays below the burned fee (2 %), so the
    /// pair still loses `fee - reward` per cycle. Its sybils stake enough to lock a seat's bond (half the budget)
    /// for every seat they can hold: unbacked votes would not count, and nothing would be verified.
    function test_attack_emissionDrainWithSybilCommitteeLosesFeeMinusReward() public {
        uint256 start = DEPLOY_INITIAL / 100;
        _registerSybils(3, uint96(start * 3 / 2));
        _fund(requester, start - start / 10);
        _stakeAs(pairProvider, uint96(start / 10));
        uint256 wealth = _pairWealth();
        uint256 minted;
        uint256 lost;

        for (uint256 cycle; cycle < 72; ++cycle) {
            uint256 balance = token.balanceOf(requester) - 3 * 1e18;
            uint256 budget = balance * 10_000 / (10_000 + DEPLOY_FEE_BPS);
            if (budget + _feeOf(budget) > balance) --budget;
            uint256 stakeCap = uint256(_account(pairProvider).stake) * 10_000 / DEPLOY_MIN_COLLATERAL_BPS;
            if (budget > stakeCap) budget = stakeCap;
            JobSpec memory spec = _selfDealSpec(uint96(budget), VerificationMode.Segments, 3, 1e18);
            uint256 reward = budget * DEPLOY_REWARD_BPS / 10_000;
            uint256 fee = _feeOf(budget);
            assertLt(reward, fee, "reward below the fee");
            uint256 before = _pairWealth();
            _cycle(spec, 0x07, 0x07); // three sybil seats approve
            assertEq(_pairWealth(), before - (fee - reward), "one cycle costs fee - reward");
            minted += reward;
            lost += fee - reward;
            _wait(DEPLOY_EPOCH); // one job per epoch: the cap never binds here
        }
        assertGt(minted, 0, "verified work is rewarded");
        assertEq(_pairWealth(), wealth - lost, "the pair ends poorer");
    }

    // ------------------------------------------------------------------ fuzz: any budget, mode, committee, schedule

    /// @notice Whatever the pair chooses — budget, mode, committee size (all seats its sybils), validator fee,
    /// collateral, how its sybils vote, how long it waits between jobs, how many jobs — its total wealth never
    /// grows, and every accepted job leaves it strictly poorer.
    /// forge-config: default.fuzz.runs = 10000
    function testFuzz_selfDealingNeverGainsWealth(
        uint96 budgetSeed,
        uint8 modeSeed,
        uint8 committeeSeed,
        uint96 validatorFeeSeed,
        uint96 extraCollateral,
        uint8 votedMask,
        uint8 approveMask,
        uint32 gap,
        uint8 cyclesSeed
    ) public {
        JobSpec memory spec = _fuzzSpec(budgetSeed, modeSeed, committeeSeed, validatorFeeSeed, extraCollateral);
        uint256 cycles = 1 + cyclesSeed % 3;
        // Enough for every escrow, and to restore the provider's stake after each slash.
        _fund(requester, (_escrowOf(spec) + spec.collateral + 100e18) * cycles);
        _stakeAs(pairProvider, spec.collateral + DEPLOY_MIN_STAKE);

        uint256 wealth = _pairWealth();
        for (uint256 cycle; cycle < cycles; ++cycle) {
            _playCycle(spec, votedMask, approveMask);
            _wait(gap % 3 days);
        }
        assertLe(_pairWealth(), wealth, "the pair never gains");
    }

    function _fuzzSpec(
        uint96 budgetSeed,
        uint8 modeSeed,
        uint8 committeeSeed,
        uint96 validatorFeeSeed,
        uint96 extraCollateral
    ) private returns (JobSpec memory spec) {
        VerificationMode mode = VerificationMode(modeSeed % 4);
        // mode None has no committee; the others an odd one (1..15)
        uint8 committee = mode == VerificationMode.None ? 0 : 1 + 2 * (committeeSeed % 8);
        _registerSybils(committee == 0 ? 1 : committee);
        spec = _selfDealSpec(
            uint96(uint256(budgetSeed) % 1_000_000e18) + 1,
            mode,
            committee,
            uint96(uint256(validatorFeeSeed) % 1_000e18)
        );
        spec.collateral += uint96(uint256(extraCollateral) % 1_000e18);
    }

    function _playCycle(JobSpec memory spec, uint8 votedMask, uint8 approveMask) private {
        uint256 before = _pairWealth();
        // A rejected job slashed the collateral to the requester, a decided vote slashed some sybils to others:
        // the requester hands the tokens back to be staked again.
        _restake(pairProvider, uint256(spec.collateral) + DEPLOY_MIN_STAKE);
        for (uint256 i; i < sybils.length; ++i) {
            _restake(sybils[i], DEPLOY_MIN_STAKE);
        }
        assertEq(_pairWealth(), before, "restaking moves wealth within the pair");
        bool accepted = _cycle(spec, votedMask, approveMask);
        uint256 afterCycle = _pairWealth();
        assertLe(afterCycle, before, "a cycle never pays the pair");
        if (accepted) assertLt(afterCycle, before, "an accepted job costs the pair at least its fee - reward");
    }

    /// @notice Reward rounds down and the fee up: the reward stays strictly below the fee at every budget, the
    /// smallest ones included.
    function testFuzz_rewardBelowFeeAtEveryBudget(uint96 budgetSeed) public {
        _registerSybils(1);
        uint96 budget = budgetSeed % 4 == 0 ? uint96(uint256(budgetSeed) % 1_000) + 1 : budgetSeed % 1_000_000e18 + 1;
        JobSpec memory spec = _selfDealSpec(budget, VerificationMode.Segments, 1, 0);
        _fund(requester, _escrowOf(spec));
        (, Job memory job) = _post(spec);
        assertEq(job.spec.protocolFee, _feeOf(budget), "fee recorded");
        assertLt(_expectedRewardAt(budget), _feeOf(budget), "reward < fee");
        assertGe(_feeOf(budget), 1, "a fee on every budget");
    }

    // ------------------------------------------------------------------ the pair's moves

    /// @dev Posts, claims, submits; the sybil seats in `votedMask` vote (approving per `approveMask`); finalizes;
    /// every pair account withdraws and hands its tokens back to the requester. Returns whether it was accepted.
    function _cycle(JobSpec memory spec, uint8 votedMask, uint8 approveMask) private returns (bool accepted) {
        (uint256 jobId, Job memory job) = _post(spec);
        job = _claim(jobId, job, pairProvider);
        job = _submit(jobId, job);
        _mine(2); // the seed block, then votes open
        Ballot[] memory ballots = new Ballot[](spec.committeeSize);
        for (uint256 seat; seat < ballots.length; ++seat) {
            if ((votedMask >> seat) & 1 == 0) continue;
            ballots[seat] = (approveMask >> seat) & 1 == 1 ? Ballot.Approve : Ballot.Reject;
        }
        SeatVote[] memory seats = spec.mode == VerificationMode.None || market.validatorCount() == 0
            ? new SeatVote[](0)
            : _seats(jobId, job, ballots);
        _closeWindow(job);
        vm.recordLogs();
        market.finalize(jobId, job, seats);
        // Accepted means paid (ProviderPaid); silent seats' bonds may also reach the provider on an undecided job.
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IJobMarket.ProviderPaid.selector) accepted = true;
        }
        _collect(pairProvider);
        for (uint256 i; i < sybils.length; ++i) {
            _collect(sybils[i]);
        }
        _collect(requester);
    }

    function _restake(address who, uint256 needed) private {
        uint256 staked = _account(who).stake;
        if (staked >= needed) return;
        uint96 topUp = uint96(needed - staked);
        vm.prank(requester);
        token.transfer(who, topUp);
        _approveMarket(who, topUp);
        vm.prank(who);
        market.stake(topUp);
    }

    function _collect(address who) private {
        Account memory account = _account(who);
        if (account.balance != 0 || account.rewardOwed != 0) {
            vm.prank(who);
            market.withdraw();
        }
        uint256 held = token.balanceOf(who);
        if (who != requester && held != 0) {
            vm.prank(who);
            token.transfer(requester, held);
        }
    }

    function _registerSybils(uint256 count) private {
        _registerSybils(count, DEPLOY_MIN_STAKE);
    }

    function _registerSybils(uint256 count, uint96 stakeEach) private {
        for (uint256 i; i < count; ++i) {
            sybils.push(_addValidator(0x5B1 + i, stakeEach));
        }
    }

    function _selfDealSpec(uint96 budget, VerificationMode mode, uint8 committee, uint96 validatorFee)
        private
        pure
        returns (JobSpec memory spec)
    {
        spec = _spec();
        spec.budget = budget;
        spec.mode = mode;
        spec.committeeSize = committee;
        spec.samplesPerValidator = 1;
        spec.validatorFee = validatorFee;
        spec.verifyBlocks = 1;
        uint256 fees = uint256(committee) * validatorFee;
        uint256 ratio = uint256(budget) * DEPLOY_MIN_COLLATERAL_BPS / 10_000;
        spec.collateral = uint96(fees > ratio ? fees : ratio);
    }

    function _feeOf(uint256 budget) private pure returns (uint96) {
        return uint96((budget * DEPLOY_FEE_BPS + 9_999) / 10_000);
    }

    function _expectedRewardAt(uint256 budget) private pure returns (uint256) {
        return budget * DEPLOY_REWARD_BPS / 10_000;
    }

    /// @dev Everything the pair owns: tokens held, and stake, unbonding, balance and owed reward in the market,
    /// over the requester, the provider and every sybil validator.
    function _pairWealth() private view returns (uint256 total) {
        total = _wealthOf(requester) + _wealthOf(pairProvider);
        for (uint256 i; i < sybils.length; ++i) {
            total += _wealthOf(sybils[i]);
        }
    }

    function _wealthOf(address who) private view returns (uint256) {
        Account memory account = _account(who);
        return token.balanceOf(who) + account.stake + account.unbonding + account.balance + account.rewardOwed;
    }
}
