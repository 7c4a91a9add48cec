// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import {ICrowdToken} from "../../../contracts/interfaces/ICrowdToken.sol";

/// @notice Everything CrowdToken exposes, for tests that deploy it from its build artifact.
interface ICrowdTokenFull is ICrowdToken, IERC20Metadata, IERC20Permit {
    function cap() external view returns (uint256);
}
