// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Account, Job, JobSpec, VerificationMode} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {Fixture} from "../utils/Fixture.sol";
import {TargetLimitedRelayer} from "./TargetLimitedRelayer.sol";

/// @notice Attack 4 of issue 14, "pull without allowance", played as the attacker would: a relayer holds CROWD and
/// forwards anyone's calls to the market (never to the token). If the market could move its caller's tokens
/// without an allowance, the attacker would post a job in the relayer's name paying the relayer's whole float,
/// claim it as a provider, and be paid once the optimistic window passed; or lock the float as stake.
/// With standard allowances the forwarded payment reverts: the relayer never approved the market.
contract PullWithoutAllowanceAttackTest is Fixture {
    uint96 private constant RELAYER_FLOAT = 50_000e18;

    TargetLimitedRelayer private relayer;
    address private attacker = address(0xA77AC4);

    function setUp() public override {
        super.setUp();
        relayer = new TargetLimitedRelayer(address(market));
        _fund(address(relayer), RELAYER_FLOAT);
        // The attacker is an ordinary provider at the minimum stake (its own tokens; it keeps them).
        _registerProvider(attacker, _caps());
        _stakeAs(attacker, MIN_PROVIDER_STAKE);
    }

    function test_attack_relayerFloatPostedAsJobIsNotPaidToAttacker() public {
        uint256 attackerBefore = _wealth(attacker);
        JobSpec memory spec = _drainSpec();
        uint96 reward = _expectedReward(spec);

        vm.prank(attacker);
        try relayer.relay(address(market), abi.encodeCall(IJobMarket.postJob, (spec))) returns (bytes memory result) {
            uint256 jobId = abi.decode(result, (uint256));
            Job memory job;
            spec.requester = address(relayer);
            spec.reward = reward;
            job.spec = spec;
            job = _claim(jobId, job, attacker);
            job = _submit(jobId, job); // nothing was run: mode None has no committee to notice
            _mine(uint256(spec.verifyBlocks) + 2);
            market.finalize(jobId, job, new SeatVote[](0));
            vm.prank(attacker);
            market.withdraw();
        } catch {}

        assertEq(_wealth(attacker), attackerBefore, "attacker's tokens, stake and balances");
        assertEq(token.balanceOf(address(relayer)), RELAYER_FLOAT, "relayer float");
    }

    function test_attack_relayerFloatCannotBeLockedAsStake() public {
        vm.prank(attacker);
        try relayer.relay(address(market), abi.encodeCall(IStaking.stake, (RELAYER_FLOAT))) {} catch {}

        assertEq(token.balanceOf(address(relayer)), RELAYER_FLOAT, "relayer float");
        assertEq(_account(address(relayer)).stake, 0, "stake in the relayer's name");
    }

    function test_attack_forwardedPostRevertsWithInsufficientAllowance() public {
        bytes memory post = abi.encodeCall(IJobMarket.postJob, (_drainSpec()));
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, _escrowOf(_drainSpec())
            )
        );
        vm.prank(attacker);
        relayer.relay(address(market), post);
    }

    function test_attack_forwardedPostWithJunkPermitRevertsWithInsufficientAllowance() public {
        // A contract cannot sign a permit; a made-up one is ignored and the pull still needs the allowance.
        bytes memory post = abi.encodeCall(
            IJobMarket.postJobWithPermit, (_drainSpec(), type(uint256).max, 27, keccak256("r"), keccak256("s"))
        );
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, _escrowOf(_drainSpec())
            )
        );
        vm.prank(attacker);
        relayer.relay(address(market), post);
    }

    function test_attack_forwardedStakeRevertsWithInsufficientAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, RELAYER_FLOAT)
        );
        vm.prank(attacker);
        relayer.relay(address(market), abi.encodeCall(IStaking.stake, (RELAYER_FLOAT)));
    }

    /// @dev An optimistic job with no committee and the least collateral allowed, whose budget is the relayer's
    /// whole float.
    function _drainSpec() private pure returns (JobSpec memory spec) {
        spec = _spec();
        spec.budget = RELAYER_FLOAT;
        spec.mode = VerificationMode.None;
        spec.committeeSize = 0;
        spec.validatorFee = 0;
        spec.collateral = uint96(uint256(RELAYER_FLOAT) * MIN_COLLATERAL_BPS / 10_000);
        spec.verifyBlocks = 1;
    }

    /// @dev Tokens held plus everything the market owes or holds for `who`.
    function _wealth(address who) private view returns (uint256) {
        Account memory account = _account(who);
        return token.balanceOf(who) + account.stake + account.unbonding + account.balance + account.rewardOwed;
    }
}
