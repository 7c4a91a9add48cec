// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {Account, Job} from "../../../contracts/market/Types.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";
import {PauseHandler} from "./PauseHandler.sol";

/// @notice Whatever the guardian does with the pause, tokens stay accounted for and every settlement or
/// withdrawal whose preconditions hold goes through; posts, claims and registrations stop while paused.
contract PauseInvariantsTest is Test {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    PauseHandler private handler;
    ICrowdMarket private market;
    ICrowdTokenFull private token;

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        handler = new PauseHandler();
        market = handler.market();
        token = handler.token();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = PauseHandler.togglePause.selector;
        selectors[1] = PauseHandler.post.selector;
        selectors[2] = PauseHandler.claim.selector;
        selectors[3] = PauseHandler.registerNewcomer.selector;
        selectors[4] = PauseHandler.cancel.selector;
        selectors[5] = PauseHandler.submit.selector;
        selectors[6] = PauseHandler.finalize.selector;
        selectors[7] = PauseHandler.expire.selector;
        selectors[8] = PauseHandler.topUp.selector;
        selectors[9] = PauseHandler.unbond.selector;
        selectors[10] = PauseHandler.withdrawUnbonded.selector;
        selectors[11] = PauseHandler.withdraw.selector;
        selectors[12] = PauseHandler.advance.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(address(handler), selectors);
    }

    /// @notice Reports how often each action ran, and ran while paused (visible with -vv).
    function afterInvariant() public {
        bytes32[11] memory actions = [
            bytes32("pause"),
            "unpause",
            "post",
            "claim",
            "refused while paused",
            "cancel",
            "submit",
            "finalize",
            "expire",
            "unbond",
            "withdraw"
        ];
        for (uint256 i; i < actions.length; ++i) {
            emit log_named_uint(string(abi.encodePacked(actions[i])), handler.performed(actions[i]));
            emit log_named_uint(
                string.concat(string(abi.encodePacked(actions[i])), " (paused)"), handler.performedPaused(actions[i])
            );
        }
    }

    /// @notice The market holds exactly the escrow of live jobs plus every stake, unbonding and balance.
    function invariant_pauseKeepsTokensConserved() public view {
        uint256 owed;
        for (uint256 i; i < handler.liveCount(); ++i) {
            (, Job memory job) = handler.liveJob(i);
            // Fees are paid only when votes are revealed at finalize: a live job holds its whole escrow.
            owed += uint256(job.spec.budget) + job.spec.protocolFee + uint256(job.spec.committeeSize)
            * job.spec.validatorFee;
        }
        address[] memory actors = handler.actors();
        for (uint256 i; i < actors.length; ++i) {
            Account memory account = market.accountOf(actors[i]);
            owed += uint256(account.stake) + account.unbonding + account.balance;
        }
        assertEq(token.balanceOf(address(market)), owed + market.feesToBurn(), "market balance (fees to burn included)");
    }

    /// @notice No settlement or withdrawal ever reverted for the pause, or for any reason when it should not.
    function invariant_pauseNeverBlocksExits() public view {
        assertEq(handler.blockedByPause(), 0, "exits refused by the pause");
        assertEq(handler.unexpectedReverts(), 0, "calls refused for another reason");
    }

    /// @notice Posts, claims and registrations never went through while paused.
    function invariant_pauseStopsPostsAndClaims() public view {
        assertEq(handler.pauseLeaks(), 0, "posts or claims while paused");
    }
}
