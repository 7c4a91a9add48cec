// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {
    Account,
    Capabilities,
    Evidence,
    Job,
    JobSpec,
    JobStatus,
    MarketConfig,
    VerificationMode
} from "../../../contracts/market/Types.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives the market with random but valid actions. It never reverts: every action clamps its inputs
/// and skips when its preconditions do not hold, so any revert the fuzzer sees is a bug in the market (or in the
/// handler's model of it). It keeps the `Job` of every live job, like a client rebuilding jobs from events,
/// and ghost counters for what the invariants check.
contract MarketHandler is Test {
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000e18;
    uint256 public constant CAP = 2_000_000_000e18;
    uint96 public constant MIN_PROVIDER_STAKE = 100e18;
    uint96 public constant MIN_VALIDATOR_STAKE = 50e18;
    uint96 public constant VALIDATOR_SLASH = 10e18;
    uint16 public constant REWARD_BPS = 500;
    uint64 public constant UNBONDING_DELAY = 1 days;
    uint256 private constant MAX_LIVE = 12;

    ICrowdMarket public immutable market;
    ICrowdTokenFull public immutable token;
    address private immutable treasury = address(0x7EA5);

    address[] private _requesters;
    address[] private _providers;
    address[] private _validators;
    address[] private _actors;

    uint256[] private _liveIds;
    mapping(uint256 jobId => Job) private _jobs;
    uint256[] private _closedIds;

    /// @notice Times each job paid its provider (ProviderPaid events).
    mapping(uint256 jobId => uint256) public timesPaid;
    /// @notice The most any job was paid.
    uint256 public maxTimesPaid;
    /// @notice Settlement calls that succeeded on a job already closed.
    uint256 public doubleSettlements;
    /// @notice StakeSlashed amounts that exceeded what the account had at risk.
    uint256 public slashViolations;
    /// @notice How many actions of each kind really ran (not skipped), to show the runs reach every state.
    mapping(bytes32 action => uint256) public performed;

    constructor() {
        MarketConfig memory cfg = MarketConfig({
            unbondingDelay: UNBONDING_DELAY,
            minProviderStake: MIN_PROVIDER_STAKE,
            minValidatorStake: MIN_VALIDATOR_STAKE,
            validatorSlash: VALIDATOR_SLASH,
            rewardBps: REWARD_BPS
        });
        market = ICrowdMarket(deploy("CrowdMarket.sol:CrowdMarket", abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP)));
        token = ICrowdTokenFull(market.token());

        for (uint256 i; i < 3; ++i) {
            address requester = address(uint160(0x1000 + i));
            _requesters.push(requester);
            _actors.push(requester);
            address provider = address(uint160(0x2000 + i));
            _providers.push(provider);
            _actors.push(provider);
            vm.prank(provider);
            market.registerProvider(
                Capabilities({
                    gpuCount: 8, gpuMemoryMiB: 81_920, gpuClass: 9, cpuCores: 64, memoryMiB: 524_288, pricePerHour: 1e18
                }),
                bytes32(i)
            );
            _stake(provider, 3_000e18);
        }
        for (uint256 i; i < 5; ++i) {
            address validator = address(uint160(0x3000 + i));
            _validators.push(validator);
            _actors.push(validator);
            _stake(validator, 200e18);
            vm.prank(validator);
            market.registerValidator();
        }
    }

    // ------------------------------------------------------------------ actions

    function post(uint256 who, uint96 budget, uint8 committee, uint96 fee, uint8 flags, uint32 timeout) external {
        if (_liveIds.length >= MAX_LIVE) return;
        JobSpec memory spec;
        spec.budget = uint96(uint256(budget) % 1_000e18) + 1;
        spec.bundleDigest = keccak256(abi.encode(who, budget));
        spec.bundleCodec = 0x55;
        spec.gpuCount = 1;
        spec.committeeSize = committee % 5;
        spec.mode = spec.committeeSize == 0 ? VerificationMode.None : VerificationMode(flags % 4);
        spec.samplesPerValidator = 1;
        spec.validatorFee = uint96(uint256(fee) % 20e18);
        spec.collateral = uint96(uint256(spec.committeeSize) * spec.validatorFee + uint256(fee % 500e18));
        spec.runTimeout = 3_600 + timeout % 1 days;
        spec.verifyBlocks = uint16(1 + (flags >> 2) % 30);
        spec.reopenOnFailure = flags & 0x80 != 0;

        address requester = _requesters[who % _requesters.length];
        uint256 escrow = uint256(spec.budget) + uint256(spec.committeeSize) * spec.validatorFee;
        if (token.balanceOf(requester) < escrow) _fund(requester, escrow);
        uint256 reward = uint256(spec.budget) * REWARD_BPS / 10_000;
        if (reward > market.rewardsRemaining()) reward = market.rewardsRemaining();

        vm.prank(requester);
        uint256 jobId = market.postJob(spec);
        spec.requester = requester;
        spec.reward = uint96(reward);
        _jobs[jobId].spec = spec;
        _liveIds.push(jobId);
        ++performed["post"];
    }

    function cancel(uint256 index) external {
        if (index % 4 != 0) return; // requesters cancel now and then, not at every chance
        (bool found, uint256 jobId) = _pick(index / 4, JobStatus.Open);
        if (!found) return;
        Job memory job = _jobs[jobId];
        vm.prank(job.spec.requester);
        market.cancelJob(jobId, job);
        _close(jobId);
        ++performed["cancel"];
    }

    function claim(uint256 index, uint256 who) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Open);
        if (!found) return;
        Job memory job = _jobs[jobId];
        address provider = _providers[who % _providers.length];
        Account memory account = market.accountOf(provider);
        if (account.stake < MIN_PROVIDER_STAKE || account.stake - account.locked < job.spec.collateral) return;
        vm.prank(provider);
        market.claimJob(jobId, job);
        _jobs[jobId].state.provider = provider;
        _jobs[jobId].state.deadline = uint64(vm.getBlockTimestamp()) + job.spec.runTimeout;
        ++performed["claim"];
    }

    function submit(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() > job.state.deadline) return;
        uint16 listed = uint16(market.validatorCount());
        vm.prank(job.state.provider);
        market.submitResult(jobId, job, keccak256(abi.encode(jobId)), 0x55, bytes32(jobId), 4);
        _jobs[jobId].state.submitBlock = uint64(vm.getBlockNumber());
        _jobs[jobId].state.validatorCount = listed;
        _jobs[jobId].state.resultHash =
            keccak256(abi.encode(keccak256(abi.encode(jobId)), uint8(0x55), bytes32(jobId), uint32(4)));
        ++performed["submit"];
    }

    /// @notice Casts the votes of the committee slots in `slots` (bit i: slot i), approving per `approvals`.
    function vote(uint256 index, uint8 slots, uint8 approvals) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockNumber() == job.state.submitBlock) _mine(1); // votes start in the next block
        if (vm.getBlockNumber() > uint256(job.state.submitBlock) + job.spec.verifyBlocks) return;
        address[] memory committee = market.committeeOf(jobId, job);
        if (committee.length == 0) return;
        slots |= uint8(1 << (index % committee.length)); // at least one slot
        for (uint8 slot; slot < committee.length; ++slot) {
            if ((slots >> slot) & 1 == 0) continue;
            if ((uint256(market.jobWord(jobId)) >> (8 + slot)) & 1 == 1) continue;
            if (market.accountOf(committee[slot]).stake < MIN_VALIDATOR_STAKE) continue;
            vm.prank(committee[slot]);
            market.vote(jobId, job, slot, (approvals >> slot) & 1 == 1, Evidence(slot, bytes32(0), bytes32(0)));
            ++performed["vote"];
        }
    }

    function finalize(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        uint256 word = uint256(market.jobWord(jobId));
        uint256 accepts = _count((word >> 16) & 0xff);
        uint256 rejects = _count((word >> 8) & 0xff) - accepts;
        uint256 size =
            job.spec.committeeSize < job.state.validatorCount ? job.spec.committeeSize : job.state.validatorCount;
        bool decided = accepts * 2 > size || rejects * 2 > size;
        uint256 lastBlock = uint256(job.state.submitBlock) + job.spec.verifyBlocks;
        if (!decided && vm.getBlockNumber() <= lastBlock) {
            if (index % 2 == 0) return; // half the time, wait for more votes
            _mine(lastBlock + 1 - vm.getBlockNumber());
        }
        _settle(jobId, job, true);
    }

    function expire(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() <= job.state.deadline) {
            if (index % 4 != 0) return; // now and then, the provider runs out of time
            vm.warp(job.state.deadline + 1);
        }
        _settle(jobId, job, false);
    }

    function advance(uint16 secondsToWait, uint8 blocks) external {
        _mine(blocks % 6);
        vm.warp(vm.getBlockTimestamp() + secondsToWait % 1 hours);
    }

    /// @notice Stakes more, requests an unbond, or withdraws a released unbond (by `op`).
    function bond(uint256 who, uint96 amount, uint8 op) external {
        address account = _bonded(who);
        Account memory state = market.accountOf(account);
        if (op % 3 == 0) {
            _stake(account, uint96(uint256(amount) % 1_000e18) + 1);
        } else if (op % 3 == 1) {
            uint256 free = state.stake - state.locked;
            if (free < 4) return;
            vm.prank(account);
            market.requestUnbond(uint96(uint256(amount) % (free / 4)) + 1); // small steps keep most actors active
        } else {
            if (state.unbonding == 0 || vm.getBlockTimestamp() < state.unbondingReleaseAt) return;
            vm.prank(account);
            market.withdrawUnbonded();
        }
    }

    function withdraw(uint256 who) external {
        address account = _actors[who % _actors.length];
        Account memory state = market.accountOf(account);
        if (state.balance == 0 && state.rewardOwed == 0) return;
        vm.prank(account);
        market.withdraw();
        ++performed["withdraw"];
    }

    /// @notice Tries to settle an already closed job again; success would be a double payment or refund.
    function resettle(uint256 index, uint8 how) external {
        if (_closedIds.length == 0) return;
        uint256 jobId = _closedIds[index % _closedIds.length];
        Job memory job = _jobs[jobId];
        vm.prank(job.spec.requester);
        if (how % 3 == 0) {
            try market.finalize(jobId, job) {
                ++doubleSettlements;
            } catch {}
        } else if (how % 3 == 1) {
            try market.expireJob(jobId, job) {
                ++doubleSettlements;
            } catch {}
        } else {
            try market.cancelJob(jobId, job) {
                ++doubleSettlements;
            } catch {}
        }
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

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Finalizes or expires, checking every StakeSlashed against what the account had at risk.
    function _settle(uint256 jobId, Job memory job, bool isFinalize) private {
        Account[] memory before = new Account[](_actors.length);
        for (uint256 i; i < _actors.length; ++i) {
            before[i] = market.accountOf(_actors[i]);
        }

        vm.recordLogs();
        if (isFinalize) market.finalize(jobId, job);
        else market.expireJob(jobId, job);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            if (topic == IJobMarket.ProviderPaid.selector) {
                ++performed["paid"];
                uint256 paid = ++timesPaid[uint256(logs[i].topics[1])];
                if (paid > maxTimesPaid) maxTimesPaid = paid;
            } else if (topic == IStaking.StakeSlashed.selector) {
                ++performed["slashed"];
                _checkSlash(
                    address(uint160(uint256(logs[i].topics[1]))), abi.decode(logs[i].data, (uint96)), job, before
                );
            }
        }

        ++performed[isFinalize ? bytes32("finalize") : bytes32("expire")];
        if (market.statusOf(jobId) == JobStatus.Open) {
            ++performed["reopen"];
            Job storage reopened = _jobs[jobId];
            uint16 attempts = reopened.state.attempts + 1;
            delete reopened.state;
            reopened.state.attempts = attempts;
        } else {
            _close(jobId);
        }
    }

    function _checkSlash(address account, uint96 amount, Job memory job, Account[] memory before) private {
        for (uint256 i; i < _actors.length; ++i) {
            if (_actors[i] != account) continue;
            if (account == job.state.provider) {
                if (amount > before[i].locked || amount != job.spec.collateral) ++slashViolations;
            } else if (amount > uint256(before[i].stake) + before[i].unbonding || amount > VALIDATOR_SLASH) {
                ++slashViolations;
            }
            return;
        }
        ++slashViolations; // an account the handler never created
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
            break;
        }
        _closedIds.push(jobId);
    }

    function _bonded(uint256 who) private view returns (address) {
        uint256 i = who % (_providers.length + _validators.length);
        return i < _providers.length ? _providers[i] : _validators[i - _providers.length];
    }

    function _stake(address account, uint96 amount) private {
        _fund(account, amount);
        vm.prank(account);
        market.stake(amount);
    }

    function _fund(address account, uint256 amount) private {
        vm.prank(treasury);
        token.transfer(account, amount);
    }

    /// @dev Mines `count` blocks (12 s each), giving each past block a hash as a real chain would.
    function _mine(uint256 count) private {
        for (uint256 i; i < count; ++i) {
            uint256 number = vm.getBlockNumber();
            vm.setBlockhash(number, keccak256(abi.encode("block", number)));
            vm.roll(number + 1);
        }
        vm.warp(vm.getBlockTimestamp() + 12 * count);
    }

    function _count(uint256 mask) private pure returns (uint256 n) {
        for (; mask != 0; mask &= mask - 1) {
            ++n;
        }
    }
}
