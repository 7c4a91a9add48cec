// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The CROWD token's minting surface
/// @notice CROWD is an ERC20 with EIP-2612 permit and a hard cap. The market that deploys it is its only
/// minter: rewards are minted when a provider withdraws them, never beyond the cap. Minting is the minter's only
/// privilege: it moves other accounts' tokens only within their allowances, as any spender does.
interface ICrowdToken {
    /// @notice A caller other than the minter tried to mint.
    /// @param caller The account that called `mint`.
    /// @param minter The only account allowed to mint.
    error CrowdTokenUnauthorizedMinter(address caller, address minter);

    /// @notice Mints `amount` tokens to `to`.
    /// @dev Requirements: the caller is `minter()`; the total supply stays within `cap()`
    /// (`ERC20ExceededCap` otherwise).
    /// @param to The receiver.
    /// @param amount How many tokens (18 decimals).
    function mint(address to, uint256 amount) external;

    /// @notice Destroys `amount` of the caller's own tokens (the market burns protocol fees this way).
    /// @dev Requirements: the caller holds `amount` (`ERC20InsufficientBalance` otherwise). Burned tokens leave
    /// `totalSupply`; the cap does not change, and the market never mints beyond its emission budget.
    /// @param amount How many tokens (18 decimals).
    function burn(uint256 amount) external;

    /// @notice The only account allowed to mint: the market that deployed the token.
    function minter() external view returns (address);
}
