// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {Account, Job, JobStatus} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";
import {MarketHandler} from "./MarketHandler.sol";

/// @notice Properties that hold after any sequence of handler actions.
contract MarketInvariantsTest is Test {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    MarketHandler private handler;
    ICrowdMarket private market;
    ICrowdTokenFull private token;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        handler = new MarketHandler();
        market = handler.market();
        token = handler.token();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](16);
        selectors[0] = MarketHandler.post.selector;
        selectors[1] = MarketHandler.cancel.selector;
        selectors[2] = MarketHandler.claim.selector;
        selectors[3] = MarketHandler.submit.selector;
        selectors[4] = MarketHandler.join.selector;
        selectors[5] = MarketHandler.finalize.selector;
        selectors[6] = MarketHandler.expire.selector;
        selectors[7] = MarketHandler.advance.selector;
        selectors[8] = MarketHandler.bond.selector;
        selectors[9] = MarketHandler.withdraw.selector;
        selectors[10] = MarketHandler.resettle.selector;
        selectors[11] = MarketHandler.sybil.selector;
        selectors[12] = MarketHandler.progress.selector;
        selectors[13] = MarketHandler.burnFees.selector;
        selectors[14] = MarketHandler.releaseKey.selector;
        selectors[15] = MarketHandler.releaseClaim.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// @notice Reports how often each action really ran (visible with -vv).
    function afterInvariant() public {
        bytes32[22] memory actions = [
            bytes32("post"),
            "rewarded",
            "reward capped",
            "cancel",
            "claim",
            "submit",
            "seated",
            "finalize",
            "expire",
            "reopen",
            "paid",
            "slashed",
            "withdraw",
            "join",
            "topUp",
            "unbond",
            "sybil",
            "burnFees",
            "releaseKey",
            "releaseClaim free",
            "releaseClaim burned",
            bytes32(0)
        ];
        for (uint256 i; actions[i] != 0; ++i) {
            emit log_named_uint(string(abi.encodePacked(actions[i])), handler.performed(actions[i]));
        }
    }

    /// @notice (a) The market holds exactly the open escrow plus every stake, unbonding amount and balance, plus the
    /// accepted jobs' fees set aside to be burned.
    function invariant_escrowEqualsOpenBudgetsStakesAndBalances() public view {
        uint256 owed;
        uint256 live = handler.liveCount();
        for (uint256 i; i < live; ++i) {
            (uint256 jobId, Job memory job) = handler.liveJob(i);
            owed += _escrowLeft(jobId, job);
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            Account memory account = market.accountOf(actors[i]);
            owed += uint256(account.stake) + account.unbonding + account.balance;
        }
        assertEq(token.balanceOf(address(market)), owed + market.feesToBurn(), "market balance");
    }

    /// @notice Rewards are conserved: unreserved + reserved by live jobs + owed + minted = the emission budget.
    function invariant_rewardsNeverExceedEmission() public view {
        // minted = the supply above the initial one, plus the protocol fees burned since (those set aside and not
        // yet burned are still in the supply)
        uint256 total = market.rewardsRemaining() + token.totalSupply() + handler.burned() - market.feesToBurn()
            - handler.INITIAL_SUPPLY();
        uint256 live = handler.liveCount();
        for (uint256 i; i < live; ++i) {
            (, Job memory job) = handler.liveJob(i);
            total += job.spec.reward;
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            total += market.accountOf(actors[i]).rewardOwed;
        }
        assertEq(total, handler.CAP() - handler.INITIAL_SUPPLY(), "emission");
        assertLe(token.totalSupply(), handler.CAP(), "cap");
    }

    /// @notice (b) No job pays its provider twice, and no closed job can be settled again.
    function invariant_noJobPaidTwice() public view {
        assertLe(handler.maxTimesPaid(), 1, "payments per job");
        assertEq(handler.doubleSettlements(), 0, "settlements of closed jobs");
    }

    /// @notice (d) Slashing never takes more than a provider's locked collateral or a validator's bonded stake,
    /// and collateral never exceeds stake.
    function invariant_slashingNeverExceedsBond() public view {
        assertEq(handler.slashViolations(), 0, "slashes beyond what was at risk");
        address[] memory providers = handler.providers();
        for (uint256 i; i < providers.length; ++i) {
            Account memory account = market.accountOf(providers[i]);
            assertLe(account.locked, account.stake, "locked within stake");
        }
    }

    /// @notice (d') A seat's bond is locked from its vote's reveal until its job settles, never longer: the handler
    /// reveals a round's votes only in `finalize`, which settles them in the same call, so no validator's stake
    /// stays locked between calls (an appealed round's bonds stay locked until the final round:
    /// `ConcurrentSeats.t.sol`).
    function invariant_seatBondsNeverOutliveTheirJob() public view {
        address[] memory validators = handler.validators();
        for (uint256 i; i < validators.length; ++i) {
            assertEq(market.accountOf(validators[i]).locked, 0, "no bond left locked");
        }
    }

    /// @notice (e) Every live validator's roster weight equals its stake (at least the minimum); a registered
    /// validator off the roster has less than the minimum.
    function invariant_rosterWeightEqualsStake() public view {
        address[] memory validators = handler.validators();
        uint256 minimum = handler.MIN_VALIDATOR_STAKE();
        for (uint256 i; i < validators.length; ++i) {
            (bool live, uint256 leaf) = market.rosterLeafOf(validators[i]);
            uint256 stake = market.accountOf(validators[i]).stake;
            if (live) {
                assertEq(Roster.sumOf(market.rosterNode(Roster.CAPACITY + leaf)), stake, "weight = stake");
                assertGe(stake, minimum, "live at the minimum or more");
            } else if (handler.registered(validators[i])) {
                assertTrue(stake < minimum, "off the roster only below the minimum");
            }
        }
    }

    /// @notice (f) The roster's total weight is the sum of the live validators' stakes, and it counts them.
    function invariant_rosterTotalEqualsLiveStake() public view {
        address[] memory validators = handler.validators();
        uint256 total;
        uint256 live;
        for (uint256 i; i < validators.length; ++i) {
            (bool isLive,) = market.rosterLeafOf(validators[i]);
            if (!isLive) continue;
            total += market.accountOf(validators[i]).stake;
            ++live;
        }
        assertEq(Roster.sumOf(market.rosterRoot()), total, "roster total");
        assertEq(Roster.sumOf(market.rosterNode(1)), total, "root node");
        assertEq(market.validatorCount(), live, "live count");
    }

    /// @notice (c) Whatever state a job is in, its requester can get the budget back unless the provider completed
    /// it: cancel an open job, expire a claimed one after its deadline, finalize a submitted one after the window.
    /// Played out on a snapshot that is thrown away afterwards.
    function invariant_requesterCanAlwaysRecoverBudget() public {
        uint256 live = handler.liveCount();
        if (live == 0) return;
        uint256 snapshot = vm.snapshotState();
        for (uint256 i; i < live; ++i) {
            (uint256 jobId, Job memory job) = handler.liveJob(i);
            _recover(jobId, job);
        }
        vm.revertToState(snapshot);
    }

    function _recover(uint256 jobId, Job memory job) private {
        address requester = job.spec.requester;
        uint256 before = token.balanceOf(requester) + market.accountOf(requester).balance;
        uint256 paidBefore = job.state.provider == address(0) ? 0 : market.accountOf(job.state.provider).balance;
        JobStatus status = market.statusOf(jobId);

        if (status == JobStatus.Claimed) {
            vm.warp(job.state.deadline + 1);
            market.expireJob(jobId, job);
        } else if (status == JobStatus.Submitted) {
            _mine(2 * uint256(job.spec.verifyBlocks) + 2); // the window and the appeal window
            // Every seat silent: the requester needs nobody's vote to close the job.
            market.finalize(jobId, job, handler.seatsOf(jobId, new Ballot[](0)));
            if (job.state.provider != address(0)) {
                uint256 paid = market.accountOf(job.state.provider).balance - paidBefore;
                if (paid >= job.spec.budget && market.statusOf(jobId) == JobStatus.Closed) return; // completed
            }
        }
        if (market.statusOf(jobId) == JobStatus.Open) {
            Job memory open = job;
            uint16 attempts = market.statusOf(jobId) == status ? job.state.attempts : job.state.attempts + 1;
            delete open.state;
            open.state.attempts = attempts;
            vm.prank(requester);
            market.cancelJob(jobId, open);
        }
        uint256 recovered = token.balanceOf(requester) + market.accountOf(requester).balance - before;
        assertGe(recovered, job.spec.budget, "budget recovered");
    }

    /// @dev A live job holds its whole escrow: fees are paid only when it closes (a reopened job had them restored).
    /// @notice Emission never exceeds the epoch cap: the rewards owed to providers in any epoch (summed from
    /// `ProviderPaid`) stay within `epochRewardCap`, and so does the market's own count.
    function invariant_emissionNeverExceedsEpochCap() public view {
        assertLe(handler.maxEpochRewarded(), handler.EPOCH_REWARD_CAP(), "rewards in one epoch");
        (, uint256 rewarded) = market.epochRewards();
        assertLe(rewarded, handler.EPOCH_REWARD_CAP(), "market's epoch count");
    }

    function _escrowLeft(uint256, Job memory job) private pure returns (uint256) {
        return uint256(job.spec.budget) + job.spec.protocolFee + uint256(job.spec.committeeSize) * job.spec.validatorFee;
    }

    function _mine(uint256 blocks) private {
        for (uint256 i; i < blocks; ++i) {
            uint256 number = vm.getBlockNumber();
            vm.setBlockhash(number, keccak256(abi.encode("block", number)));
            vm.roll(number + 1);
        }
    }
}
