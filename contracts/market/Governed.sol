// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGoverned} from "../interfaces/IGoverned.sol";
import {MarketConfig} from "./Types.sol";

/// @title The market's parameters, its governor and guardian, and the pause flag
/// @notice Parameters live in storage, split by who reads them: `_hot` holds what post and claim read, with the
/// pause flag beside them, so checking the pause costs those paths no extra slot; `_cold` holds what only
/// votes, validator registration and decided finalizations read.
/// @dev New `MarketConfig` fields go into `_hot` (read by post or claim) or `_cold`, plus one line each in
/// `_storeConfig` and `config`.
abstract contract Governed is IGoverned {
    uint256 private constant MAX_BPS = 10_000;

    /// @dev One slot: read by post (rewardBps, paused), claim (minProviderStake, paused), requestUnbond.
    struct HotConfig {
        uint96 minProviderStake;
        uint16 rewardBps;
        bool paused;
        uint64 unbondingDelay;
        uint16 feeBps;
        uint16 minCollateralBps;
    }

    /// @dev One slot: read by registerValidator, vote (minValidatorStake) and finalize of a decided job.
    struct ColdConfig {
        uint96 minValidatorStake;
        uint96 validatorSlash;
        uint64 epochLength;
    }

    address private immutable _governor;
    HotConfig private _hot;
    ColdConfig private _cold;
    uint96 private _epochRewardCap;
    address private _guardian;

    /// @param marketConfig Initial parameters; `rewardBps <= 10_000` (`InvalidRewardBps`).
    /// @param governor_ The timelock that may change them (nonzero: `InvalidGovernor`).
    /// @param guardian_ The account that may pause (zero: none until the governor names one).
    constructor(MarketConfig memory marketConfig, address governor_, address guardian_) {
        if (governor_ == address(0)) revert InvalidGovernor();
        _governor = governor_;
        _storeConfig(marketConfig);
        _guardian = guardian_;
        emit GuardianChanged(address(0), guardian_);
    }

    modifier onlyGovernor() {
        if (msg.sender != _governor) revert NotGovernor(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ governor

    /// @inheritdoc IGoverned
    function setConfig(MarketConfig calldata marketConfig) external onlyGovernor {
        _storeConfig(marketConfig);
    }

    /// @inheritdoc IGoverned
    function setGuardian(address guardian_) external onlyGovernor {
        emit GuardianChanged(_guardian, guardian_);
        _guardian = guardian_;
    }

    // ------------------------------------------------------------------ guardian

    /// @inheritdoc IGoverned
    function pause() external {
        if (msg.sender != _guardian) revert NotGuardian(msg.sender);
        if (_hot.paused) return;
        _hot.paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IGoverned
    function unpause() external {
        if (msg.sender != _guardian && msg.sender != _governor) revert NotGuardian(msg.sender);
        if (!_hot.paused) return;
        _hot.paused = false;
        emit Unpaused(msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IGoverned
    function config() external view returns (MarketConfig memory) {
        HotConfig memory hot = _hot;
        ColdConfig memory cold = _cold;
        return MarketConfig({
            unbondingDelay: hot.unbondingDelay,
            minProviderStake: hot.minProviderStake,
            minValidatorStake: cold.minValidatorStake,
            validatorSlash: cold.validatorSlash,
            rewardBps: hot.rewardBps,
            feeBps: hot.feeBps,
            minCollateralBps: hot.minCollateralBps,
            epochLength: cold.epochLength,
            epochRewardCap: _epochRewardCap
        });
    }

    /// @inheritdoc IGoverned
    function paused() external view returns (bool) {
        return _hot.paused;
    }

    /// @inheritdoc IGoverned
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IGoverned
    function governor() external view returns (address) {
        return _governor;
    }

    // ------------------------------------------------------------------ internal getters

    /// @dev Reverts with `MarketPaused` while paused (new posts, claims, registrations).
    function _requireNotPaused() internal view {
        if (_hot.paused) revert MarketPaused();
    }

    /// @dev The stake a provider needs to claim, reverting while paused: one slot read for both.
    function _minProviderStakeForClaim() internal view returns (uint96) {
        HotConfig storage hot = _hot;
        if (hot.paused) revert MarketPaused();
        return hot.minProviderStake;
    }

    function _unbondingDelay() internal view returns (uint64) {
        return _hot.unbondingDelay;
    }

    function _minValidatorStake() internal view returns (uint96) {
        return _cold.minValidatorStake;
    }

    function _validatorSlash() internal view returns (uint96) {
        return _cold.validatorSlash;
    }

    /// @dev Reward for committee-verified work, in basis points of the budget (the hot slot, read at post).
    function _rewardBpsConfig() internal view returns (uint256) {
        return _hot.rewardBps;
    }

    /// @dev Protocol fee, in basis points of the budget (the hot slot).
    function _feeBpsConfig() internal view returns (uint256) {
        return _hot.feeBps;
    }

    /// @dev Least collateral a job may ask for, in basis points of its budget (the hot slot).
    function _minCollateralBpsConfig() internal view returns (uint256) {
        return _hot.minCollateralBps;
    }

    /// @dev Seconds per reward epoch.
    function _epochLengthConfig() internal view returns (uint256) {
        return _cold.epochLength;
    }

    /// @dev Most reward owed to providers per epoch.
    function _epochRewardCapConfig() internal view returns (uint256) {
        return _epochRewardCap;
    }

    // ------------------------------------------------------------------ private

    /// @dev Validates and stores every parameter; the pause flag is kept.
    function _storeConfig(MarketConfig memory marketConfig) private {
        uint256 rewardBps = marketConfig.rewardBps;
        uint256 feeBps = marketConfig.feeBps;
        if (rewardBps > MAX_BPS) revert InvalidRewardBps(rewardBps, MAX_BPS);
        // floor(b * rewardBps) < ceil(b * feeBps) for every budget b >= 1 exactly when rewardBps < feeBps
        if (feeBps > MAX_BPS || (rewardBps != 0 && rewardBps >= feeBps)) {
            revert InvalidFeeBps(feeBps, rewardBps, MAX_BPS);
        }
        if (marketConfig.epochLength == 0) revert InvalidEpochLength();
        _hot = HotConfig({
            minProviderStake: marketConfig.minProviderStake,
            rewardBps: marketConfig.rewardBps,
            paused: _hot.paused,
            unbondingDelay: marketConfig.unbondingDelay,
            feeBps: marketConfig.feeBps,
            minCollateralBps: marketConfig.minCollateralBps
        });
        _cold = ColdConfig({
            minValidatorStake: marketConfig.minValidatorStake,
            validatorSlash: marketConfig.validatorSlash,
            epochLength: marketConfig.epochLength
        });
        _epochRewardCap = marketConfig.epochRewardCap;
        emit ConfigChanged(marketConfig);
    }
}
