// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MarketConfig} from "../market/Types.sol";

/// @title Who may change the market's parameters, and who may pause it
/// @notice Two roles, both named at deploy. The `governor` (a `TimelockController`, so every change waits out a
/// public delay) sets the parameters and the guardian. The `guardian` (an account that can act at once) pauses
/// new posts, claims and registrations in an incident; the guardian or the governor unpauses. A pause never
/// stops money already in the market from leaving by the rules: cancel, submit, vote, finalize, expire,
/// unbond, withdraw and stake top-ups keep working.
interface IGoverned {
    // ------------------------------------------------------------------ events

    /// @notice The governor replaced the market's parameters; they apply to actions from this block on.
    /// @param config The new parameters.
    event ConfigChanged(MarketConfig config);

    /// @notice The guardian paused new posts, claims and registrations.
    /// @param by The guardian.
    event Paused(address indexed by);

    /// @notice The market accepts new posts, claims and registrations again.
    /// @param by The guardian or the governor.
    event Unpaused(address indexed by);

    /// @notice The governor named a new guardian.
    /// @param previous The guardian before.
    /// @param guardian The guardian now (zero: nobody can pause until the governor names one).
    event GuardianChanged(address indexed previous, address indexed guardian);

    // ------------------------------------------------------------------ errors

    /// @notice Only the governor (the timelock) may do this.
    /// @param caller Who called.
    error NotGovernor(address caller);

    /// @notice Only the guardian (or, for `unpause`, the governor) may do this.
    /// @param caller Who called.
    error NotGuardian(address caller);

    /// @notice The guardian paused the market: new posts, claims and registrations are refused; running jobs
    /// settle and withdrawals work.
    error MarketPaused();

    /// @notice `config.rewardBps` is above 100%.
    /// @param rewardBps The value given.
    /// @param max 10,000.
    error InvalidRewardBps(uint256 rewardBps, uint256 max);

    /// @notice `config.feeBps` is above 100%, or not above a non-zero `config.rewardBps` (the reward must stay
    /// below the fee for every budget, so that a requester and provider dealing with each other lose tokens).
    /// @param feeBps The value given.
    /// @param rewardBps The reward rate it must exceed (unless that is zero).
    /// @param max 10,000.
    error InvalidFeeBps(uint256 feeBps, uint256 rewardBps, uint256 max);

    /// @notice `config.epochLength` is zero.
    error InvalidEpochLength();

    /// @notice The market was deployed without a governor.
    error InvalidGovernor();

    // ------------------------------------------------------------------ governor

    /// @notice Replaces the market's parameters. Later actions use them; a running job keeps what its spec fixed at
    /// post (budget, reward, collateral, fees, timeouts, windows), and an unbonding already requested keeps its
    /// release time. Read at the action: `minProviderStake` (claim), `minValidatorStake` (registration, vote),
    /// `validatorSlash` (finalize of a decided job), `unbondingDelay` (requestUnbond), `rewardBps` (post).
    /// @dev Emits `ConfigChanged`. Requirements: the caller is the governor (`NotGovernor`) and
    /// `rewardBps <= 10_000` (`InvalidRewardBps`), `rewardBps < feeBps <= 10_000` unless `rewardBps == 0`
    /// (`InvalidFeeBps`), `epochLength > 0` (`InvalidEpochLength`). Leaves the pause flag as it is.
    /// @param config The new parameters.
    function setConfig(MarketConfig calldata config) external;

    /// @notice Names a new guardian (zero removes the role: nobody can pause).
    /// @dev Emits `GuardianChanged`. Requirements: the caller is the governor (`NotGovernor`).
    /// @param guardian The new guardian.
    function setGuardian(address guardian) external;

    // ------------------------------------------------------------------ guardian

    /// @notice Refuses new posts, claims and registrations until `unpause`. Does nothing if already paused.
    /// @dev Emits `Paused` when it changes the state. Requirements: the caller is the guardian (`NotGuardian`).
    function pause() external;

    /// @notice Accepts new posts, claims and registrations again. Does nothing if not paused.
    /// @dev Emits `Unpaused` when it changes the state. Requirements: the caller is the guardian or the governor
    /// (`NotGuardian`).
    function unpause() external;

    // ------------------------------------------------------------------ views

    /// @notice The market's current parameters.
    function config() external view returns (MarketConfig memory);

    /// @notice Whether new posts, claims and registrations are refused.
    function paused() external view returns (bool);

    /// @notice The account that may pause (and unpause).
    function guardian() external view returns (address);

    /// @notice The timelock that sets parameters and the guardian, and may unpause.
    function governor() external view returns (address);
}
