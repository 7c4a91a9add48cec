// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {ICrowdToken} from "../interfaces/ICrowdToken.sol";

/// @title CROWD, the marketplace's payment, staking and reward token
/// @notice ERC20 "Crowd Compute" / "CROWD" with EIP-2612 permit and a hard cap. The deployer (the market,
/// which creates the token with `new` in its constructor) is the only minter.
/// @dev Standard ERC20 and EIP-2612 semantics, with no spender special case: the minter, like anyone, moves
/// another account's tokens only within the allowance that account gave it.
contract CrowdToken is ICrowdToken, ERC20Capped, ERC20Permit {
    /// @inheritdoc ICrowdToken
    address public immutable minter;

    /// @param treasury Receives the initial supply (may be zero only when `initialSupply` is zero).
    /// @param initialSupply Minted to `treasury` at once; the rest of `cap_` is left for rewards.
    /// @param cap_ The most tokens that can ever exist.
    constructor(address treasury, uint256 initialSupply, uint256 cap_)
        ERC20("Crowd Compute", "CROWD")
        ERC20Permit("Crowd Compute")
        ERC20Capped(cap_)
    {
        minter = msg.sender;
        if (initialSupply != 0) _mint(treasury, initialSupply);
    }

    /// @inheritdoc ICrowdToken
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert CrowdTokenUnauthorizedMinter(msg.sender, minter);
        _mint(to, amount);
    }

    /// @inheritdoc ICrowdToken
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    /// @dev ERC20Capped enforces the cap on mints; ERC20 moves the balances.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
