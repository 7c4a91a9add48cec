// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {IGoverned} from "../../../contracts/interfaces/IGoverned.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {
    Account,
    Capabilities,
    Job,
    JobSpec,
    JobStatus,
    MarketConfig,
    ROSTER_DEPTH,
    VerificationMode
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";

/// @notice Drives the market while a guardian pauses and unpauses it at random. It never reverts: every market
/// call goes through `_call`, which counts what reverted and why. Posts and claims made while paused must fail
/// with `MarketPaused` (`pauseLeaks` otherwise); every call that settles work or lets money leave (cancel,
/// submit, finalize, expire, stake top-up, unbond, withdraw) has its preconditions checked first, so it
/// must succeed, paused or not (`blockedByPause` / `unexpectedReverts` otherwise).
contract PauseHandler is Test {
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000e18;
    uint256 public constant CAP = 2_000_000_000e18;
    uint96 public constant MIN_PROVIDER_STAKE = 100e18;
    uint96 public constant MIN_VALIDATOR_STAKE = 50e18;
    uint64 public constant UNBONDING_DELAY = 1 days;
    uint256 private constant MAX_LIVE = 8;

    ICrowdMarket public immutable market;
    ICrowdTokenFull public immutable token;
    address private immutable treasury = address(0x7EA5);
    address public immutable governor = address(0x6077);
    address public immutable guardian = address(0x6A4D);

    address[] private _requesters;
    address[] private _providers;
    address[] private _validators;
    address[] private _actors;

    uint256[] private _liveIds;
    mapping(uint256 jobId => Job) private _jobs;

    /// @notice Settling or exit calls that reverted with `MarketPaused`.
    uint256 public blockedByPause;
    /// @notice Settling or exit calls that reverted for another reason although their preconditions held.
    uint256 public unexpectedReverts;
    /// @notice Posts, claims or registrations that went through while paused, or failed for another reason.
    uint256 public pauseLeaks;
    /// @notice How many actions of each kind ran, and how many of them while paused.
    mapping(bytes32 action => uint256) public performed;
    mapping(bytes32 action => uint256) public performedPaused;

    constructor() {
        MarketConfig memory cfg = MarketConfig({
            unbondingDelay: UNBONDING_DELAY,
            minProviderStake: MIN_PROVIDER_STAKE,
            minValidatorStake: MIN_VALIDATOR_STAKE,
            validatorSlash: 10e18,
            rewardBps: 100,
            feeBps: 200,
            minCollateralBps: 1_000,
            epochLength: 1 days,
            epochRewardCap: 250_000e18
        });
        market = ICrowdMarket(
            deploy("CrowdMarket.sol:CrowdMarket", abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, governor, guardian))
        );
        token = ICrowdTokenFull(market.token());
        for (uint256 i; i < 2; ++i) {
            address requester = address(uint160(0x1000 + i));
            _requesters.push(requester);
            _actors.push(requester);
            address provider = address(uint160(0x2000 + i));
            _providers.push(provider);
            _actors.push(provider);
            vm.prank(provider);
            market.registerProvider(
                Capabilities({gpuCount: 1, gpuMemoryMiB: 1, gpuClass: 1, cpuCores: 1, memoryMiB: 1, pricePerHour: 1}),
                bytes32(i)
            );
            _stake(provider, 2_000e18);
        }
        for (uint256 i; i < 3; ++i) {
            address validator = address(uint160(0x3000 + i));
            _validators.push(validator);
            _actors.push(validator);
            _stake(validator, 200e18);
            vm.prank(validator);
            market.registerValidator();
        }
    }

    // ------------------------------------------------------------------ guardian

    /// @notice Pauses, or unpauses (by the guardian or the governor), one call in three.
    function togglePause(uint8 roll, bool byGovernor) external {
        if (roll % 3 != 0) return;
        if (!market.paused()) {
            vm.prank(guardian);
            market.pause();
            ++performed["pause"];
        } else {
            vm.prank(byGovernor ? governor : guardian);
            market.unpause();
            ++performed["unpause"];
        }
    }

    // ------------------------------------------------------------------ refused while paused

    function post(uint256 who, uint96 budget, uint8 committee, uint96 fee) external {
        if (_liveIds.length >= MAX_LIVE) return;
        JobSpec memory spec;
        spec.budget = uint96(uint256(budget) % 1_000e18) + 1;
        spec.bundleDigest = keccak256(abi.encode(who, budget));
        spec.committeeSize = committee % 4 == 0 ? 0 : uint8(2 * (committee % 4) - 1); // none, or 1, 3, 5 seats
        spec.mode = spec.committeeSize == 0 ? VerificationMode.None : VerificationMode.Replicate;
        spec.validatorFee = uint96(uint256(fee) % 10e18);
        // at least the committee's fees and a tenth of the budget (minCollateralBps)
        spec.collateral = uint96(uint256(spec.committeeSize) * spec.validatorFee + uint256(spec.budget) / 10 + 1e18);
        spec.runTimeout = 3_600;
        spec.verifyBlocks = 5;

        address requester = _requesters[who % _requesters.length];
        uint256 protocolFee = (uint256(spec.budget) * 200 + 9_999) / 10_000;
        uint256 escrow = uint256(spec.budget) + protocolFee + uint256(spec.committeeSize) * spec.validatorFee;
        _fund(requester, escrow);
        vm.prank(requester);
        token.approve(address(market), escrow);
        uint256 reward = spec.mode == VerificationMode.None ? 0 : uint256(spec.budget) * 100 / 10_000;
        if (reward > market.rewardsRemaining()) reward = market.rewardsRemaining();

        (bool ok, bytes memory result) = _refusedWhilePaused(requester, abi.encodeCall(IJobMarket.postJob, (spec)));
        if (!ok) {
            vm.prank(requester);
            token.approve(address(market), 0);
            return;
        }
        spec.requester = requester;
        spec.reward = uint96(reward);
        spec.protocolFee = uint96(protocolFee);
        uint256 jobId = abi.decode(result, (uint256));
        _jobs[jobId].spec = spec;
        _liveIds.push(jobId);
        ++performed["post"];
    }

    function claim(uint256 index, uint256 who) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Open);
        if (!found) return;
        Job memory job = _jobs[jobId];
        address provider = _providers[who % _providers.length];
        Account memory account = market.accountOf(provider);
        if (account.stake < MIN_PROVIDER_STAKE || account.stake - account.locked < job.spec.collateral) return;
        (bool ok,) = _refusedWhilePaused(provider, abi.encodeCall(IJobMarket.claimJob, (jobId, job)));
        if (!ok) return;
        _jobs[jobId].state.provider = provider;
        _jobs[jobId].state.deadline = uint64(vm.getBlockTimestamp()) + job.spec.runTimeout;
        ++performed["claim"];
    }

    function registerNewcomer(uint160 seed, bool asValidator) external {
        address newcomer = address(uint160(0x9000) + seed % 1_000);
        if (uint8(market.accountOf(newcomer).role) != 0 || market.accountOf(newcomer).stake != 0) return;
        if (asValidator) {
            _stake(newcomer, MIN_VALIDATOR_STAKE);
            _actors.push(newcomer);
            _refusedWhilePaused(newcomer, abi.encodeCall(IStaking.registerValidator, ()));
        } else {
            Capabilities memory caps;
            _refusedWhilePaused(newcomer, abi.encodeCall(IStaking.registerProvider, (caps, bytes32(0))));
        }
    }

    // ------------------------------------------------------------------ never refused for the pause

    function cancel(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Open);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (_settles(job.spec.requester, abi.encodeCall(IJobMarket.cancelJob, (jobId, job)), "cancel")) _close(jobId);
    }

    function submit(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() > job.state.deadline) return;
        bytes32 roster = job.spec.mode == VerificationMode.None ? bytes32(0) : market.rosterRoot();
        bytes memory call =
            abi.encodeCall(IJobMarket.submitResult, (jobId, job, keccak256(abi.encode(jobId)), 0x55, bytes32(0), 1));
        if (!_settles(job.state.provider, call, "submit")) return;
        _jobs[jobId].state.submitBlock = uint64(vm.getBlockNumber());
        _jobs[jobId].state.rosterRoot = roster;
        _jobs[jobId].state.resultHash =
            keccak256(abi.encode(keccak256(abi.encode(jobId)), uint8(0x55), bytes32(0), uint32(1)));
    }

    /// @notice Finalizes after the window with every seat silent (the handler's validators hold no signing keys): the
    /// job closes Unverified, the silent bonds go to the provider. Skipped when the roster changed since the
    /// submission (its proofs are read from the live tree).
    function finalize(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        uint256 lastBlock = uint256(job.state.submitBlock) + 1 + job.spec.verifyBlocks;
        if (job.spec.mode != VerificationMode.None) lastBlock += job.spec.verifyBlocks; // the appeal window
        if (vm.getBlockNumber() <= lastBlock) _mine(lastBlock + 1 - vm.getBlockNumber());
        SeatVote[] memory seats;
        if (job.state.rosterRoot != 0) {
            if (market.rosterRoot() != job.state.rosterRoot) return;
            seats = _silentSeats(jobId, job);
        }
        if (_settles(address(this), abi.encodeCall(IJobMarket.finalize, (jobId, job, seats)), "finalize")) {
            _close(jobId);
        }
    }

    function _silentSeats(uint256 jobId, Job memory job) private view returns (SeatVote[] memory seats) {
        bytes32 seed = market.seedOf(jobId, job);
        uint256 total = Roster.sumOf(job.state.rosterRoot);
        seats = new SeatVote[](job.spec.committeeSize);
        for (uint256 seat; seat < seats.length; ++seat) {
            uint256 node = 1;
            uint256 position = Roster.seatPosition(seed, seat, total);
            for (uint256 level; level < ROSTER_DEPTH; ++level) {
                uint256 left = Roster.sumOf(market.rosterNode(node * 2));
                if (position < left) {
                    node = node * 2;
                } else {
                    position -= left;
                    node = node * 2 + 1;
                }
            }
            uint256 leaf = node - Roster.CAPACITY;
            seats[seat].leaf = uint16(leaf);
            seats[seat].validator = _holder(leaf);
            seats[seat].weight = uint96(Roster.sumOf(market.rosterNode(node)));
            for (uint256 level; level < ROSTER_DEPTH; ++level) {
                seats[seat].siblings[level] = market.rosterNode(node ^ 1);
                node >>= 1;
            }
            seats[seat].ballot = Ballot.Silent;
        }
    }

    /// @dev Who holds a roster leaf: any actor (newcomers registered by `registerNewcomer` hold leaves too).
    function _holder(uint256 leaf) private view returns (address) {
        for (uint256 i; i < _actors.length; ++i) {
            (bool live, uint256 held) = market.rosterLeafOf(_actors[i]);
            if (live && held == leaf) return _actors[i];
        }
        return address(0);
    }

    function expire(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() <= job.state.deadline) vm.warp(job.state.deadline + 1);
        if (_settles(address(this), abi.encodeCall(IJobMarket.expireJob, (jobId, job)), "expire")) _close(jobId);
    }

    function topUp(uint256 who, uint96 amount) external {
        address account = _bonded(who);
        amount = uint96(uint256(amount) % 100e18) + 1;
        _fund(account, amount);
        vm.prank(account);
        token.approve(address(market), amount);
        _settles(account, abi.encodeCall(IStaking.stake, (amount)), "stake");
    }

    function unbond(uint256 who, uint96 amount) external {
        address account = _bonded(who);
        Account memory state = market.accountOf(account);
        uint256 free = state.stake - state.locked;
        if (free < 4) return;
        _settles(account, abi.encodeCall(IStaking.requestUnbond, (uint96(uint256(amount) % (free / 4)) + 1)), "unbond");
    }

    function withdrawUnbonded(uint256 who) external {
        address account = _bonded(who);
        Account memory state = market.accountOf(account);
        if (state.unbonding == 0) return;
        if (vm.getBlockTimestamp() < state.unbondingReleaseAt) vm.warp(state.unbondingReleaseAt);
        _settles(account, abi.encodeCall(IStaking.withdrawUnbonded, ()), "withdraw unbonded");
    }

    function withdraw(uint256 who) external {
        address account = _actors[who % _actors.length];
        Account memory state = market.accountOf(account);
        if (state.balance == 0 && state.rewardOwed == 0) return;
        _settles(account, abi.encodeCall(IStaking.withdraw, ()), "withdraw");
    }

    function advance(uint16 secondsToWait, uint8 blocks) external {
        _mine(blocks % 6);
        vm.warp(vm.getBlockTimestamp() + secondsToWait % 1 hours);
    }

    // ------------------------------------------------------------------ views for the invariants

    function liveCount() external view returns (uint256) {
        return _liveIds.length;
    }

    function liveJob(uint256 i) external view returns (uint256 jobId, Job memory job) {
        jobId = _liveIds[i];
        job = _jobs[jobId];
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    // ------------------------------------------------------------------ internals

    /// @dev A call that must succeed whatever the pause says; counts a refusal by the pause or for any reason.
    function _settles(address caller, bytes memory data, bytes32 action) private returns (bool ok) {
        bool wasPaused = market.paused();
        bytes memory reason;
        if (caller != address(this)) vm.prank(caller);
        (ok, reason) = address(market).call(data);
        if (ok) {
            ++performed[action];
            if (wasPaused) ++performedPaused[action];
        } else if (bytes4(reason) == IGoverned.MarketPaused.selector) {
            ++blockedByPause;
        } else {
            ++unexpectedReverts;
        }
    }

    /// @dev A call the pause must refuse with `MarketPaused`, and that must go through otherwise.
    function _refusedWhilePaused(address caller, bytes memory data) private returns (bool ok, bytes memory result) {
        bool wasPaused = market.paused();
        vm.prank(caller);
        (ok, result) = address(market).call(data);
        if (wasPaused) {
            if (ok || bytes4(result) != IGoverned.MarketPaused.selector) ++pauseLeaks;
            else ++performed["refused while paused"];
        } else if (!ok) {
            ++unexpectedReverts;
        }
    }

    function _pick(uint256 index, JobStatus wanted) private view returns (bool found, uint256 jobId) {
        uint256 count = _liveIds.length;
        for (uint256 i; i < count; ++i) {
            jobId = _liveIds[(index % count + i) % count];
            if (market.statusOf(jobId) == wanted) return (true, jobId);
        }
        return (false, 0);
    }

    function _close(uint256 jobId) private {
        for (uint256 i; i < _liveIds.length; ++i) {
            if (_liveIds[i] != jobId) continue;
            _liveIds[i] = _liveIds[_liveIds.length - 1];
            _liveIds.pop();
            return;
        }
    }

    function _bonded(uint256 who) private view returns (address) {
        uint256 i = who % (_providers.length + _validators.length);
        return i < _providers.length ? _providers[i] : _validators[i - _providers.length];
    }

    function _stake(address account, uint96 amount) private {
        _fund(account, amount);
        vm.prank(account);
        token.approve(address(market), amount);
        vm.prank(account);
        market.stake(amount);
    }

    function _fund(address account, uint256 amount) private {
        vm.prank(treasury);
        token.transfer(account, amount);
    }

    function _mine(uint256 count) private {
        for (uint256 i; i < count; ++i) {
            uint256 number = vm.getBlockNumber();
            vm.setBlockhash(number, keccak256(abi.encode("block", number)));
            vm.roll(number + 1);
        }
        vm.warp(vm.getBlockTimestamp() + 12 * count);
    }
}
