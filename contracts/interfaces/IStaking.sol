// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Account, Capabilities, Role} from "../market/Types.sol";

/// @title Accounts, registration, stake, unbonding and pull balances
/// @notice Every account has one role (provider or validator, exclusive and permanent), a stake of which part
/// may be locked as job collateral, an unbonding amount released after `config().unbondingDelay`, and a
/// balance of earned tokens plus owed rewards that `withdraw()` pays out. All amounts are CROWD base units.
/// Stake, unbonding and balances are held by the market itself; slashing is internal to the market.
interface IStaking {
    // ------------------------------------------------------------------ events

    /// @notice A provider registered or updated its capabilities and metadata.
    /// @param provider The provider.
    /// @param caps What it offers (compared with each job's minimums at claim).
    /// @param metadataDigest sha2-256 digest of its metadata document's CID.
    event ProviderRegistered(address indexed provider, Capabilities caps, bytes32 metadataDigest);

    /// @notice An account became a validator (and joined the roster: registration needs the minimum stake).
    /// @param validator The validator.
    /// @param index Its leaf in the roster.
    event ValidatorRegistered(address indexed validator, uint256 index);

    /// @notice A validator's roster leaf changed: it joined, its bonded stake changed, or it left (weight 0). The
    /// roster (`Roster.sol`, mirrored by `chain/roster.py`) is rebuilt from these events in order.
    /// @param validator The validator.
    /// @param leaf Its leaf index.
    /// @param weight Its new weight (bonded stake), 0 when it left the roster.
    event ValidatorWeightChanged(address indexed validator, uint256 leaf, uint96 weight);

    /// @notice A full roster's leaf changed hands: `by` staked more than `validator` and took its place.
    /// @param validator The holder that left the roster (it keeps its stake and role).
    /// @param leaf The leaf.
    /// @param by The validator that joined.
    event ValidatorEvicted(address indexed validator, uint256 leaf, address indexed by);

    /// @notice Tokens were added to an account's stake.
    /// @param account The staker.
    /// @param amount Added now.
    /// @param totalStake The stake after the addition.
    event Staked(address indexed account, uint96 amount, uint96 totalStake);

    /// @notice Free stake moved to unbonding.
    /// @param account The staker.
    /// @param amount Moved now.
    /// @param releaseAt When the whole unbonding amount (this and any earlier request) can be withdrawn.
    event UnbondRequested(address indexed account, uint96 amount, uint64 releaseAt);

    /// @notice The unbonding amount was paid out.
    /// @param account The staker.
    /// @param amount Tokens transferred.
    event UnbondedWithdrawn(address indexed account, uint96 amount);

    /// @notice An account's balance was paid and its owed rewards minted.
    /// @param account The receiver.
    /// @param amount Tokens transferred from the market.
    /// @param reward Tokens minted.
    event Withdrawn(address indexed account, uint128 amount, uint128 reward);

    /// @notice Stake (or, for a validator, unbonding stake) was taken as a penalty.
    /// @param account The slashed account.
    /// @param jobId The job the penalty belongs to.
    /// @param amount Tokens taken (they move to other accounts' balances or back into the job's escrow).
    event StakeSlashed(address indexed account, uint256 indexed jobId, uint96 amount);

    /// @notice An account's withdrawable balance grew: a vote fee, a refund, compensation, or a share of a
    /// slashed validator's stake. A provider's payment is reported by `ProviderPaid` instead.
    /// @param account The credited account.
    /// @param jobId The job the credit comes from.
    /// @param amount Tokens credited.
    event BalanceCredited(address indexed account, uint256 indexed jobId, uint128 amount);

    // ------------------------------------------------------------------ errors

    /// @notice An amount argument was zero.
    error ZeroAmount();

    /// @notice The account holds another role than the call needs.
    /// @param account The caller.
    /// @param actual Its role.
    /// @param expected The role the call needs.
    error AccountNotInRole(address account, Role actual, Role expected);

    /// @notice The account already registered for the other role; roles are exclusive.
    /// @param account The caller.
    /// @param role The role it holds.
    error RoleAlreadyAssigned(address account, Role role);

    /// @notice The account is a validator already.
    /// @param validator The caller.
    /// @param slot Its roster leaf plus one (0 while it is not live).
    error ValidatorAlreadyRegistered(address validator, uint256 slot);

    /// @notice `joinRoster` is only for a full roster; with room, `registerValidator` (or staking back above the
    /// minimum) joins it.
    /// @param capacity The roster's capacity.
    error RosterNotFull(uint256 capacity);

    /// @notice A full roster's leaf goes only to a validator with more stake than its holder.
    /// @param leaf The leaf asked for.
    /// @param held The holder's stake (0: the leaf is empty).
    /// @param offered The caller's stake.
    error StakeNotAboveHolder(uint256 leaf, uint256 held, uint256 offered);

    /// @notice Stake not locked as collateral is less than needed.
    /// @param account The staker.
    /// @param available Free stake (stake minus locked collateral).
    /// @param required What the call needs.
    error InsufficientFreeStake(address account, uint256 available, uint256 required);

    /// @notice The account's stake is below the minimum for what it tried.
    /// @param account The staker.
    /// @param stake Its stake.
    /// @param minimum The minimum (`config().minProviderStake` or `config().minValidatorStake`).
    error StakeBelowMinimum(address account, uint256 stake, uint256 minimum);

    /// @notice The account has neither a balance nor owed rewards.
    /// @param account The caller.
    error NothingToWithdraw(address account);

    /// @notice The account has nothing unbonding.
    /// @param account The caller.
    error NothingUnbonding(address account);

    /// @notice The unbonding delay has not passed.
    /// @param account The caller.
    /// @param releaseAt When it passes.
    error UnbondingLocked(address account, uint64 releaseAt);

    // ------------------------------------------------------------------ registration

    /// @notice Registers the caller as a provider, or updates its capabilities and metadata.
    /// @dev Emits `ProviderRegistered`. Requirements: the caller is not a validator (`RoleAlreadyAssigned`); a
    /// new provider (not an update) only while the market is not paused (`MarketPaused`).
    /// Capabilities may change while the provider holds jobs; they are only checked at claim.
    /// @param caps What the provider offers.
    /// @param metadataDigest sha2-256 digest of its metadata document's CID.
    function registerProvider(Capabilities calldata caps, bytes32 metadataDigest) external;

    /// @notice Makes the caller a validator and puts it on the roster, weighted by its stake.
    /// @dev Emits `ValidatorRegistered` and `ValidatorWeightChanged`. Requirements: the caller is not a provider
    /// (`RoleAlreadyAssigned`), not a validator already (`ValidatorAlreadyRegistered`), and has staked at least
    /// `config().minValidatorStake` (`StakeBelowMinimum`), while the market is not paused (`MarketPaused`: a new
    /// validator would be drawn into committees of jobs submitted during an incident). A validator stays on the roster while its bonded stake
    /// is at least the minimum: `requestUnbond` below it takes it off, `stake` back above it puts it on again.
    function registerValidator() external;

    /// @notice Joins a full roster by taking leaf `leaf` from a holder with less stake than the caller's (which
    /// leaves the roster, keeping its stake). A new account becomes a validator this way.
    /// @dev Emits `ValidatorEvicted`, `ValidatorWeightChanged` twice (and `ValidatorRegistered` for a new
    /// validator). Requirements: the caller is not a provider (`RoleAlreadyAssigned`) nor live
    /// (`ValidatorAlreadyRegistered`), has at least the minimum stake (`StakeBelowMinimum`), the roster is full
    /// (`RosterNotFull`), and the leaf's holder has less stake (`StakeNotAboveHolder`). So sybils holding every
    /// leaf keep honest validators out only while each out-stakes every newcomer.
    function joinRoster(uint256 leaf) external;

    // ------------------------------------------------------------------ stake

    /// @notice Adds `amount` to the caller's stake, pulling the tokens with `transferFrom` from the caller's
    /// allowance to the market.
    /// @dev Emits `Staked`. Any account may stake, registered or not. Requirements: `amount > 0` (`ZeroAmount`);
    /// the caller allowed the market at least `amount` (the token's `ERC20InsufficientAllowance` otherwise) and
    /// holds it (`ERC20InsufficientBalance`).
    /// @param amount Tokens to stake.
    function stake(uint96 amount) external;

    /// @notice `stake`, first applying the caller's EIP-2612 permit for the market to take exactly `amount`
    /// (approve and stake in one transaction).
    /// @dev A permit that fails (someone already submitted it, it expired, it was signed for another amount) is
    /// ignored: the stake then goes through if the allowance already covers `amount`, and otherwise reverts with the
    /// token's `ERC20InsufficientAllowance`. A permit sets the allowance to `amount` (EIP-2612), replacing any
    /// standing one; clients with a standing allowance that covers the stake call `stake` instead.
    /// @param amount Tokens to stake; also the permit's value.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's recovery id.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function stakeWithPermit(uint96 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Moves `amount` of free stake to unbonding; it can be withdrawn after `config().unbondingDelay`.
    /// @dev Emits `UnbondRequested`. Every request restarts the delay for the whole unbonding amount.
    /// Unbonding stake can still be slashed (validators). Requirements: `amount > 0` (`ZeroAmount`) and
    /// `amount <= stake - locked` (`InsufficientFreeStake`).
    /// @param amount Tokens to unbond.
    function requestUnbond(uint96 amount) external;

    /// @notice Transfers the caller's whole unbonding amount once the delay has passed.
    /// @dev Emits `UnbondedWithdrawn`. Requirements: something unbonding (`NothingUnbonding`) and
    /// `block.timestamp >= releaseAt` (`UnbondingLocked`).
    function withdrawUnbonded() external;

    /// @notice Transfers the caller's balance and mints its owed rewards.
    /// @dev Emits `Withdrawn`. Requirements: a nonzero balance or owed reward (`NothingToWithdraw`).
    function withdraw() external;

    // ------------------------------------------------------------------ views

    /// @notice The account's role, stake, locked collateral, unbonding, balance and owed rewards.
    function accountOf(address account) external view returns (Account memory);

    /// @notice A provider's registered capabilities (all zero if it never registered).
    function capabilitiesOf(address provider) external view returns (Capabilities memory);

    /// @notice A provider's metadata digest (zero if it never registered).
    function metadataOf(address provider) external view returns (bytes32);

    /// @notice How many validators are live (on the roster) now.
    function validatorCount() external view returns (uint256);

    /// @notice The roster's root word: its upper 160 bits hash who is live, its low 96 bits are their total weight.
    function rosterRoot() external view returns (bytes32);

    /// @notice A node of the roster tree as stored now (heap order: 1 is the root, leaf `i` is `1024 + i`); provers
    /// read a proof's siblings from here when the roster has not changed since the job's submission.
    function rosterNode(uint256 node) external view returns (bytes32);

    /// @notice Whether `validator` is live, and its roster leaf if so.
    function rosterLeafOf(address validator) external view returns (bool live, uint256 leaf);

    /// @notice The CROWD token.
    function token() external view returns (address);
}
