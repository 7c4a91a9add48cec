// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {ICrowdToken} from "../../../contracts/interfaces/ICrowdToken.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";

/// @dev OpenZeppelin's ERC20Capped and ERC20Permit errors (declared in the contracts, not in an interface).
interface ITokenErrors {
    error ERC20ExceededCap(uint256 increasedSupply, uint256 cap);
    error ERC20InvalidCap(uint256 cap);
    error ERC2612ExpiredSignature(uint256 deadline);
}

/// @notice The token on its own, deployed by this test contract (which is therefore its minter). The minter is an
/// ordinary spender: standard ERC20 allowances and EIP-2612 permits, no exception.
contract CrowdTokenTest is Test {
    uint256 private constant INITIAL = 1_000e18;
    uint256 private constant CAP = 5_000e18;
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    ICrowdTokenFull private token;
    address private treasury = address(0x7EA5);
    uint256 private ownerKey = 0xB0B;
    address private owner;
    address private spender = address(0x5E);

    function setUp() public {
        token = _deployToken(treasury, INITIAL, CAP);
        owner = vm.addr(ownerKey);
    }

    function test_constructor_setsMetadataMinterAndInitialSupply() public view {
        assertEq(keccak256(bytes(token.name())), keccak256("Crowd Compute"), "name");
        assertEq(keccak256(bytes(token.symbol())), keccak256("CROWD"), "symbol");
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.minter(), address(this), "minter");
        assertEq(token.cap(), CAP, "cap");
        assertEq(token.totalSupply(), INITIAL, "supply");
        assertEq(token.balanceOf(treasury), INITIAL, "treasury");
    }

    function test_constructor_allowsZeroInitialSupplyWithoutTreasury() public {
        ICrowdTokenFull empty = _deployToken(address(0), 0, CAP);
        assertEq(empty.totalSupply(), 0, "supply");
    }

    function test_constructor_revertsWhenInitialSupplyAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(ITokenErrors.ERC20ExceededCap.selector, CAP + 1, CAP));
        this.deploy("CrowdToken.sol:CrowdToken", abi.encode(treasury, CAP + 1, CAP));
    }

    function test_constructor_revertsWhenCapIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(ITokenErrors.ERC20InvalidCap.selector, 0));
        this.deploy("CrowdToken.sol:CrowdToken", abi.encode(treasury, 0, 0));
    }

    function test_mint_mintsToReceiver() public {
        token.mint(owner, 7e18);
        assertEq(token.balanceOf(owner), 7e18, "balance");
        assertEq(token.totalSupply(), INITIAL + 7e18, "supply");
    }

    function test_mint_revertsWhenCallerIsNotMinter() public {
        vm.expectRevert(abi.encodeWithSelector(ICrowdToken.CrowdTokenUnauthorizedMinter.selector, owner, address(this)));
        vm.prank(owner);
        token.mint(owner, 1);
    }

    function test_mint_revertsAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(ITokenErrors.ERC20ExceededCap.selector, CAP + 1, CAP));
        token.mint(owner, CAP - INITIAL + 1);
    }

    function testFuzz_mint_neverExceedsCap(uint256 first, uint256 second) public {
        first %= CAP - INITIAL + 1;
        second %= CAP;
        token.mint(owner, first);
        if (INITIAL + first + second > CAP) {
            vm.expectRevert(
                abi.encodeWithSelector(ITokenErrors.ERC20ExceededCap.selector, INITIAL + first + second, CAP)
            );
        }
        token.mint(owner, second);
        assertLe(token.totalSupply(), CAP, "supply within cap");
    }

    function test_transferFrom_minterNeedsAnAllowanceLikeAnySpender() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(this), 0, 10e18)
        );
        token.transferFrom(treasury, owner, 10e18);
        assertEq(token.balanceOf(treasury), INITIAL, "nothing moved");
    }

    function test_transferFrom_minterSpendsItsAllowance() public {
        vm.prank(treasury);
        token.approve(address(this), 15e18);
        token.transferFrom(treasury, owner, 10e18);
        assertEq(token.balanceOf(owner), 10e18, "moved");
        assertEq(token.allowance(treasury, address(this)), 5e18, "allowance spent");
    }

    function testFuzz_transferFrom_neverMovesMoreThanTheAllowance(uint256 allowance, uint256 amount) public {
        allowance %= INITIAL + 1;
        amount %= INITIAL + 1;
        vm.prank(treasury);
        token.approve(address(this), allowance);
        if (amount > allowance) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IERC20Errors.ERC20InsufficientAllowance.selector, address(this), allowance, amount
                )
            );
        }
        token.transferFrom(treasury, owner, amount);
        uint256 moved = token.balanceOf(owner);
        assertLe(moved, allowance, "moved within the allowance");
        assertEq(token.allowance(treasury, address(this)), allowance - moved, "allowance decremented");
    }

    function test_transferFrom_revertsForOtherSpendersWithoutAllowance() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, 0, 1));
        vm.prank(spender);
        token.transferFrom(treasury, spender, 1);
    }

    function test_transferFrom_spendsOtherSpendersAllowance() public {
        vm.prank(treasury);
        token.approve(spender, 5e18);
        vm.prank(spender);
        token.transferFrom(treasury, spender, 2e18);
        assertEq(token.allowance(treasury, spender), 3e18, "allowance spent");
    }

    function test_permit_setsAllowanceFromSignature() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(spender, 3e18, deadline);
        token.permit(owner, spender, 3e18, deadline, v, r, s);
        assertEq(token.allowance(owner, spender), 3e18, "allowance");
        assertEq(token.nonces(owner), 1, "nonce");
    }

    function test_permit_revertsAfterDeadline() public {
        uint256 deadline = 1_000;
        vm.warp(deadline);
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(spender, 3e18, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ITokenErrors.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, spender, 3e18, deadline, v, r, s);
    }

    function _deployToken(address to, uint256 initial, uint256 cap) private returns (ICrowdTokenFull) {
        return ICrowdTokenFull(deploy("CrowdToken.sol:CrowdToken", abi.encode(to, initial, cap)));
    }

    function _signPermit(address to, uint256 value, uint256 deadline) private view returns (uint8, bytes32, bytes32) {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, to, value, token.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(ownerKey, digest);
    }
}
