// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICrowdToken} from "../interfaces/ICrowdToken.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {AccountWords, BalanceWord, CapabilityWord, StakeWord} from "./AccountWords.sol";
import {Governed} from "./Governed.sol";
import {Roster} from "./Roster.sol";
import {Account, Capabilities, Role} from "./Types.sol";

/// @title Accounts, stake, unbonding, balances, slashing and the live validator roster
/// @notice Each account's data is packed so the hot paths touch one slot per concern: stake, collateral and role
/// (claim, vote, finalize), balance and owed reward (vote, finalize), capabilities (claim), unbonding (only when
/// unbonding, or when slashing a validator).
/// @dev The whole token supply fits in 96 bits (the market's constructor enforces it), so no stake, balance or
/// sum of them can overflow its field; arithmetic stays checked anyway except where commented.
abstract contract Staking is IStaking, Governed, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Roster for Roster.Tree;

    /// @dev Stake on its way out.
    struct Unbonding {
        uint96 amount;
        uint64 releaseAt;
    }

    address private immutable _token;

    mapping(address account => StakeWord) private _stakes;
    mapping(address account => BalanceWord) private _balances;
    mapping(address account => Unbonding) private _unbonding;
    mapping(address provider => CapabilityWord) private _capabilities;
    mapping(address provider => bytes32 digest) private _metadata;
    /// @dev Validators whose bonded stake is at least the minimum, weighted by it (see `Roster`).
    Roster.Tree private _roster;
    /// @dev Who holds each live leaf (the tree keeps only hashes); read to evict the holder.
    mapping(uint256 leaf => address validator) private _leafHolders;

    constructor(address crowdToken) {
        _token = crowdToken;
    }

    // ------------------------------------------------------------------ registration

    /// @inheritdoc IStaking
    function registerProvider(Capabilities calldata caps, bytes32 metadataDigest) external {
        StakeWord account = _stakes[msg.sender];
        Role role = account.role();
        if (role == Role.Validator) revert RoleAlreadyAssigned(msg.sender, role);
        if (role == Role.None) {
            // A paused market takes no new providers; a registered one may still update its capabilities.
            _requireNotPaused();
            _stakes[msg.sender] = account.withRole(Role.Provider, 0);
            _prime(msg.sender);
        }
        _capabilities[msg.sender] = AccountWords.packCapabilities(caps);
        _metadata[msg.sender] = metadataDigest;
        emit ProviderRegistered(msg.sender, caps, metadataDigest);
    }

    /// @inheritdoc IStaking
    function registerValidator() external {
        StakeWord account = _stakes[msg.sender];
        Role role = account.role();
        if (role == Role.Provider) revert RoleAlreadyAssigned(msg.sender, role);
        if (role == Role.Validator) revert ValidatorAlreadyRegistered(msg.sender, account.validatorIndex());
        // New validators would be drawn into committees of jobs submitted during the incident.
        _requireNotPaused();
        uint96 minimum = _minValidatorStake();
        if (account.stake() < minimum) revert StakeBelowMinimum(msg.sender, account.stake(), minimum);
        if (_roster.live() == Roster.CAPACITY) revert Roster.RosterFull(Roster.CAPACITY);
        _prime(msg.sender);
        account = _syncRoster(msg.sender, account.withRole(Role.Validator, 0));
        _stakes[msg.sender] = account;
        // The roster had room and the stake meets the minimum: the validator holds a leaf.
        unchecked {
            emit ValidatorRegistered(msg.sender, account.validatorIndex() - 1);
        }
    }

    /// @inheritdoc IStaking
    function joinRoster(uint256 leaf) external {
        StakeWord account = _stakes[msg.sender];
        Role role = account.role();
        if (role == Role.Provider) revert RoleAlreadyAssigned(msg.sender, role);
        if (account.validatorIndex() != 0) revert ValidatorAlreadyRegistered(msg.sender, account.validatorIndex());
        _requireNotPaused();
        uint96 staked = account.stake();
        uint96 minimum = _minValidatorStake();
        if (staked < minimum) revert StakeBelowMinimum(msg.sender, staked, minimum);
        if (_roster.live() < Roster.CAPACITY) revert RosterNotFull(Roster.CAPACITY);
        address holder = _leafHolders[leaf];
        uint256 held = Roster.sumOf(_roster.nodeAt(Roster.CAPACITY + leaf));
        if (holder == address(0) || held >= staked) revert StakeNotAboveHolder(leaf, held, staked);

        // The smaller holder leaves the roster (it keeps its stake and role, and can come back the same way).
        _stakes[holder] = _stakes[holder].withRole(Role.Validator, 0);
        emit ValidatorWeightChanged(holder, leaf, 0);
        emit ValidatorEvicted(holder, leaf, msg.sender);
        if (role == Role.None) _prime(msg.sender);
        _roster.update(leaf, msg.sender, staked);
        _leafHolders[leaf] = msg.sender;
        // leaf < Roster.CAPACITY = 1,024: the index field holds it
        _stakes[msg.sender] = account.withRole(Role.Validator, uint16(leaf + 1));
        if (role == Role.None) emit ValidatorRegistered(msg.sender, leaf);
        emit ValidatorWeightChanged(msg.sender, leaf, staked);
    }

    // ------------------------------------------------------------------ stake

    /// @inheritdoc IStaking
    function stake(uint96 amount) external nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function stakeWithPermit(uint96 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        _permit(amount, deadline, v, r, s);
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function requestUnbond(uint96 amount) external {
        if (amount == 0) revert ZeroAmount();
        StakeWord account = _stakes[msg.sender];
        uint96 staked = account.stake();
        uint256 free;
        // locked <= stake always holds
        unchecked {
            free = staked - account.locked();
        }
        if (amount > free) revert InsufficientFreeStake(msg.sender, free, amount);
        // amount <= free <= staked
        unchecked {
            account = account.withStake(staked - amount);
        }
        // A validator below the minimum leaves the roster at once: it cannot be drawn for jobs submitted from now on.
        if (account.role() == Role.Validator) account = _syncRoster(msg.sender, account);
        _stakes[msg.sender] = account;
        Unbonding memory unbonding = _unbonding[msg.sender];
        uint256 release = block.timestamp + _unbondingDelay();
        // An absurdly long configured delay saturates instead of making every unbond revert.
        uint64 releaseAt = release > type(uint64).max ? type(uint64).max : uint64(release);
        _unbonding[msg.sender] = Unbonding(unbonding.amount + amount, releaseAt);
        emit UnbondRequested(msg.sender, amount, releaseAt);
    }

    /// @inheritdoc IStaking
    function withdrawUnbonded() external nonReentrant {
        Unbonding memory unbonding = _unbonding[msg.sender];
        if (unbonding.amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < unbonding.releaseAt) revert UnbondingLocked(msg.sender, unbonding.releaseAt);
        delete _unbonding[msg.sender];
        emit UnbondedWithdrawn(msg.sender, unbonding.amount);
        IERC20(_token).safeTransfer(msg.sender, unbonding.amount);
    }

    /// @inheritdoc IStaking
    function withdraw() external nonReentrant {
        BalanceWord owed = _balances[msg.sender];
        uint128 amount = owed.balance();
        uint120 reward = owed.rewardOwed();
        if (amount == 0 && reward == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = AccountWords.primed();
        emit Withdrawn(msg.sender, amount, reward);
        if (amount != 0) IERC20(_token).safeTransfer(msg.sender, amount);
        if (reward != 0) ICrowdToken(_token).mint(msg.sender, reward);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStaking
    function accountOf(address account) external view returns (Account memory) {
        StakeWord staked = _stakes[account];
        Unbonding memory unbonding = _unbonding[account];
        BalanceWord owed = _balances[account];
        return Account({
            role: staked.role(),
            stake: staked.stake(),
            locked: staked.locked(),
            unbonding: unbonding.amount,
            unbondingReleaseAt: unbonding.releaseAt,
            balance: owed.balance(),
            rewardOwed: owed.rewardOwed()
        });
    }

    /// @inheritdoc IStaking
    function capabilitiesOf(address provider) external view returns (Capabilities memory) {
        return _capabilities[provider].unpack();
    }

    /// @inheritdoc IStaking
    function metadataOf(address provider) external view returns (bytes32) {
        return _metadata[provider];
    }

    /// @inheritdoc IStaking
    function validatorCount() external view returns (uint256) {
        return _roster.live();
    }

    /// @inheritdoc IStaking
    function rosterRoot() external view returns (bytes32) {
        return _roster.root();
    }

    /// @inheritdoc IStaking
    function rosterNode(uint256 node) external view returns (bytes32) {
        return _roster.nodeAt(node);
    }

    /// @inheritdoc IStaking
    function rosterLeafOf(address validator) external view returns (bool live, uint256 leaf) {
        uint256 slot = _stakes[validator].validatorIndex();
        return slot == 0 ? (false, 0) : (true, slot - 1);
    }

    /// @inheritdoc IStaking
    function token() external view returns (address) {
        return _token;
    }

    // ------------------------------------------------------------------ internal: used by the job market

    /// @dev Checks that the market is not paused and that `provider` may take on `amount` more collateral, and
    /// locks it.
    function _lockCollateral(address provider, uint96 amount) internal {
        uint96 minimum = _minProviderStakeForClaim();
        StakeWord account = _stakes[provider];
        Role role = account.role();
        if (role != Role.Provider) revert AccountNotInRole(provider, role, Role.Provider);
        uint96 staked = account.stake();
        if (staked < minimum) revert StakeBelowMinimum(provider, staked, minimum);
        uint96 locked = account.locked();
        uint256 free;
        // locked <= stake always holds
        unchecked {
            free = staked - locked;
        }
        if (amount > free) revert InsufficientFreeStake(provider, free, amount);
        // locked + amount <= stake, a uint96
        unchecked {
            _stakes[provider] = account.withLocked(locked + amount);
        }
    }

    /// @dev Releases collateral a job locked at claim and pays the provider: `payment` to its balance, `reward`
    /// to its owed rewards (both zero for a job that was not accepted). `ProviderPaid` reports the payment.
    function _releaseCollateral(address provider, uint96 amount, uint96 payment, uint96 reward) internal {
        StakeWord account = _stakes[provider];
        _stakes[provider] = account.withLocked(account.locked() - amount);
        if (payment != 0 || reward != 0) {
            BalanceWord owed = _balances[provider];
            _balances[provider] = AccountWords.packBalance(owed.balance() + payment, owed.rewardOwed() + reward);
        }
    }

    /// @dev Takes stake `amount` locked for job `jobId` (a provider's collateral, a validator's seat bond). The
    /// tokens stay in the market; the caller moves them to escrow or balances. A validator's roster weight follows.
    function _slashCollateral(address account, uint256 jobId, uint96 amount) internal {
        StakeWord word = _stakes[account];
        word = word.withStake(word.stake() - amount).withLocked(word.locked() - amount);
        if (word.role() == Role.Validator) word = _syncRoster(account, word);
        _stakes[account] = word;
        emit StakeSlashed(account, jobId, amount);
    }

    /// @dev Locks a seat's `bond` from a validator's free stake (stake less what other seats locked) until its
    /// job settles; returns false, locking nothing, when the free stake cannot back it.
    function _lockBond(address validator, uint96 bond) internal returns (bool backed) {
        StakeWord account = _stakes[validator];
        uint96 locked = account.locked();
        // locked <= stake always holds; locked + bond <= stake, a uint96, once backed
        unchecked {
            if (account.stake() - locked < bond) return false;
            _stakes[validator] = account.withLocked(locked + bond);
        }
        return true;
    }

    /// @dev Takes up to `amount` from a validator's free stake (never what its seats locked for other jobs), then
    /// from its unbonding stake; returns what was taken.
    function _slashBonded(address validator, uint256 jobId, uint96 amount) internal returns (uint96 taken) {
        StakeWord account = _stakes[validator];
        uint96 staked = account.stake();
        uint96 free;
        // locked <= stake always holds; taken <= free <= staked and taken <= amount
        unchecked {
            free = staked - account.locked();
            taken = free < amount ? free : amount;
            account = account.withStake(staked - taken);
            amount -= taken;
        }
        if (taken != 0 && account.role() == Role.Validator) account = _syncRoster(validator, account);
        _stakes[validator] = account;
        if (amount != 0) {
            Unbonding storage unbonding = _unbonding[validator];
            uint96 pending = unbonding.amount;
            uint96 fromUnbonding = pending < amount ? pending : amount;
            // fromUnbonding <= pending; taken + fromUnbonding <= the original amount, a uint96
            unchecked {
                unbonding.amount = pending - fromUnbonding;
                taken += fromUnbonding;
            }
        }
        if (taken != 0) emit StakeSlashed(validator, jobId, taken);
    }

    /// @dev Adds `amount` to an account's balance and reports it.
    function _credit(address account, uint256 jobId, uint256 amount) internal {
        BalanceWord owed = _balances[account];
        uint128 credited = uint128(amount); // callers pass sums of 96-bit amounts
        _balances[account] = AccountWords.packBalance(owed.balance() + credited, owed.rewardOwed());
        emit BalanceCredited(account, jobId, credited);
    }

    /// @dev The provider's registered capabilities.
    function _capabilitiesOf(address provider) internal view returns (CapabilityWord) {
        return _capabilities[provider];
    }

    /// @dev The least a committee seat's bond can be.
    function _validatorSlashAmount() internal view returns (uint96) {
        return _validatorSlash();
    }

    /// @dev The roster's root word (the hash of who is live and, in its low 96 bits, their total weight).
    function _rosterRoot() internal view returns (bytes32) {
        return _roster.root();
    }

    /// @dev Burns `amount` of the market's own tokens (protocol fees set aside by accepted jobs: `burnFees`).
    function _burnTokens(uint256 amount) internal {
        ICrowdToken(_token).burn(amount);
    }

    /// @dev Pulls `amount` from the caller within the allowance it gave this market; the token's own error
    /// (`ERC20InsufficientAllowance`, `ERC20InsufficientBalance`) bubbles up unchanged. Only ever the caller: the
    /// market never moves a third party's tokens.
    function _pullFromCaller(uint256 amount) internal {
        IERC20(_token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Pays `amount` to `to`.
    function _pushTokens(address to, uint256 amount) internal {
        IERC20(_token).safeTransfer(to, amount);
    }

    /// @dev Applies the caller's EIP-2612 permit for this market to take `amount`. A failed permit is ignored:
    /// someone may have submitted it already (front-running sets the same allowance); the pull that follows then
    /// needs the allowance to be there, and fails with the token's error otherwise.
    function _permit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal {
        try IERC20Permit(_token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
    }

    /// @dev Adds `amount` to the caller's stake and pulls the tokens.
    function _stake(uint96 amount) private {
        if (amount == 0) revert ZeroAmount();
        StakeWord account = _stakes[msg.sender];
        uint96 total = account.stake() + amount;
        account = account.withStake(total);
        if (account.role() == Role.Validator) account = _syncRoster(msg.sender, account);
        _stakes[msg.sender] = account;
        emit Staked(msg.sender, amount, total);
        _pullFromCaller(amount);
    }

    /// @dev Puts a validator's roster leaf in line with its stake: a leaf weighing its stake while that is at least
    /// the minimum, no leaf below it. Returns the account word with its leaf (index + 1, or 0) set; the caller
    /// stores it.
    function _syncRoster(address validator, StakeWord account) private returns (StakeWord) {
        uint96 staked = account.stake();
        uint256 slot = account.validatorIndex();
        if (staked >= _minValidatorStake()) {
            uint256 leaf;
            if (slot == 0) {
                // A full roster is joined only by evicting a smaller holder (`joinRoster`); stake changes never fail.
                if (_roster.live() == Roster.CAPACITY) return account;
                leaf = _roster.insert(validator, staked);
                _leafHolders[leaf] = validator;
                // leaf < Roster.CAPACITY = 1,024: the index field holds it
                account = account.withRole(Role.Validator, uint16(leaf + 1));
            } else {
                // slot >= 1
                unchecked {
                    leaf = slot - 1;
                }
                _roster.update(leaf, validator, staked);
            }
            emit ValidatorWeightChanged(validator, leaf, staked);
        } else if (slot != 0) {
            // slot >= 1
            unchecked {
                _roster.remove(slot - 1);
                delete _leafHolders[slot - 1];
                emit ValidatorWeightChanged(validator, slot - 1, 0);
            }
            account = account.withRole(Role.Validator, 0);
        }
        return account;
    }

    /// @dev Marks the account's balance slot as written (see `BalanceWord`).
    function _prime(address account) private {
        BalanceWord owed = _balances[account];
        _balances[account] = AccountWords.packBalance(owed.balance(), owed.rewardOwed());
    }
}
