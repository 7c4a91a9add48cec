// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

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
    VerificationMode,
    VoteReason
} from "../../../contracts/market/Types.sol";
import {TargetLimitedRelayer} from "../attacks/TargetLimitedRelayer.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives the market with random but valid actions. It never reverts: every action clamps its inputs
/// and skips when its preconditions do not hold, so any revert the fuzzer sees is a bug in the market (or in the
/// handler's model of it). It keeps the `Job` of every live job, like a client rebuilding jobs from events,
/// and ghost counters for what the invariants check.
/// Payments (posts, stakes) are made each of the ways a client may pay: a standing allowance, an exact approve,
/// a permit (now and then front-run), or too small an allowance (which must fail with the token's error); and an
/// attacker now and then makes a relayer that holds CROWD, and never approved the market, forward payments to it.
/// Every market call is watched: an account's tokens may leave it only within its allowance to the market.
contract MarketHandler is Test {
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000e18;
    uint256 public constant CAP = 2_000_000_000e18;
    uint96 public constant MIN_PROVIDER_STAKE = 100e18;
    uint96 public constant MIN_VALIDATOR_STAKE = 50e18;
    uint96 public constant VALIDATOR_SLASH = 10e18;
    uint16 public constant REWARD_BPS = 500;
    uint16 public constant FEE_BPS = 600;
    uint16 public constant MIN_COLLATERAL_BPS = 1_000;
    /// @dev Short epochs and a cap below a few rewards, so runs both hit the cap and cross epochs.
    uint64 public constant EPOCH_LENGTH = 2 hours;
    uint96 public constant EPOCH_REWARD_CAP = 60e18;
    uint64 public constant UNBONDING_DELAY = 1 days;
    uint256 private constant MAX_LIVE = 12;
    uint96 public constant RELAYER_FLOAT = 100_000e18;
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @dev How an action pays the market.
    enum Pay {
        Standing, // an allowance approved earlier for several payments
        Exact, // approve exactly the amount, then pay
        Permit, // an EIP-2612 permit in the same call (front-run now and then)
        Short // an allowance one token-unit or more short (and a permit for another amount): must fail
    }

    /// @dev Token balance and allowance to the market of each watched account, before a call.
    struct Watch {
        uint256[] balances;
        uint256[] allowances;
    }

    ICrowdMarket public immutable market;
    ICrowdTokenFull public immutable token;
    address private immutable treasury = address(0x7EA5);

    address[] private _requesters;
    address[] private _providers;
    address[] private _validators;
    address[] private _actors;
    mapping(address account => uint256 key) private _keys;
    TargetLimitedRelayer public immutable relayer;

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
    /// @notice Tokens that left an account during a market call beyond its allowance to the market (or left
    /// its allowance other than reduced by exactly what was taken).
    uint256 public unauthorizedPulls;
    /// @notice Payments that should have failed for want of an allowance but failed otherwise.
    uint256 public unexpectedRefusals;
    /// @notice Rewards owed to providers (ProviderPaid) per epoch, and the most any epoch got.
    mapping(uint256 epoch => uint256) public epochRewarded;
    uint256 public maxEpochRewarded;
    /// @notice Protocol fees burned by settlements (the fall of the token's supply during finalize).
    uint256 public burned;
    /// @notice How many actions of each kind really ran (not skipped), to show the runs reach every state.
    mapping(bytes32 action => uint256) public performed;

    constructor() {
        MarketConfig memory cfg = MarketConfig({
            unbondingDelay: UNBONDING_DELAY,
            minProviderStake: MIN_PROVIDER_STAKE,
            minValidatorStake: MIN_VALIDATOR_STAKE,
            validatorSlash: VALIDATOR_SLASH,
            rewardBps: REWARD_BPS,
            feeBps: FEE_BPS,
            minCollateralBps: MIN_COLLATERAL_BPS,
            epochLength: EPOCH_LENGTH,
            epochRewardCap: EPOCH_REWARD_CAP
        });
        // Nobody pauses here (PauseHandler does): the governor and guardian are inert addresses.
        market = ICrowdMarket(
            deploy(
                "CrowdMarket.sol:CrowdMarket",
                abi.encode(cfg, treasury, INITIAL_SUPPLY, CAP, address(0x6077), address(0x6A4D))
            )
        );
        token = ICrowdTokenFull(market.token());

        for (uint256 i; i < 3; ++i) {
            address requester = _keyed(0x1000 + i);
            _requesters.push(requester);
            address provider = _keyed(0x2000 + i);
            _providers.push(provider);
            vm.prank(provider);
            market.registerProvider(
                Capabilities({
                    gpuCount: 8, gpuMemoryMiB: 81_920, gpuClass: 9, cpuCores: 64, memoryMiB: 524_288, pricePerHour: 1e18
                }),
                bytes32(i)
            );
            _stake(provider, 3_000e18, uint8(Pay.Exact));
        }
        for (uint256 i; i < 5; ++i) {
            address validator = _keyed(0x3000 + i);
            _validators.push(validator);
            _stake(validator, 200e18, uint8(Pay.Exact));
            vm.prank(validator);
            market.registerValidator();
        }
        // Holds CROWD and forwards anyone's calls to the market; never approved it. Its market account (none,
        // unless a forwarded payment got through) is counted with the others'.
        relayer = new TargetLimitedRelayer(address(market));
        _actors.push(address(relayer));
        _fund(address(relayer), RELAYER_FLOAT);
    }

    // ------------------------------------------------------------------ actions

    function post(uint256 who, uint96 budget, uint8 committee, uint96 fee, uint8 flags, uint32 timeout, uint8 how)
        external
    {
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
        uint256 floor =
            _max(uint256(spec.committeeSize) * spec.validatorFee, uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000);
        spec.collateral = uint96(floor + uint256(fee % 500e18));
        spec.runTimeout = 3_600 + timeout % 1 days;
        spec.verifyBlocks = uint16(1 + (flags >> 2) % 30);
        spec.reopenOnFailure = flags & 0x80 != 0;

        address requester = _requesters[who % _requesters.length];
        uint96 protocolFee = _feeOf(spec.budget);
        uint256 escrow = uint256(spec.budget) + protocolFee + uint256(spec.committeeSize) * spec.validatorFee;
        if (token.balanceOf(requester) < escrow) _fund(requester, escrow);
        uint256 reward = spec.mode == VerificationMode.None ? 0 : uint256(spec.budget) * REWARD_BPS / 10_000;
        if (reward > market.rewardsRemaining()) reward = market.rewardsRemaining();

        (bool paid, bytes memory result) = _pay(requester, escrow, how, abi.encodeCall(IJobMarket.postJob, (spec)));
        if (!paid) return;
        spec.requester = requester;
        spec.reward = uint96(reward);
        spec.protocolFee = protocolFee;
        _track(abi.decode(result, (uint256)), spec);
        ++performed["post"];
    }

    /// @notice An attacker makes the relayer forward a post (an optimistic job paying its float) or a stake.
    function relay(uint96 amount, uint8 op) external {
        uint256 held = token.balanceOf(address(relayer));
        if (held == 0) return;
        uint96 value = uint96(uint256(amount) % held) + 1;
        JobSpec memory spec;
        spec.budget = value;
        spec.collateral = value; // above the minimum ratio: the post gets as far as the payment
        spec.bundleDigest = keccak256(abi.encode("relayed", value));
        spec.runTimeout = 3_600;
        spec.verifyBlocks = 1;
        bytes memory call;
        if (op % 3 == 0) call = abi.encodeCall(IJobMarket.postJob, (spec));
        else if (op % 3 == 1) call = abi.encodeCall(IJobMarket.postJobWithPermit, (spec, type(uint256).max, 27, 0, 0));
        else call = abi.encodeCall(IStaking.stake, (value));

        address attacker = _providers[op % _providers.length];
        (bool ok, bytes memory result) = _watched(
            attacker,
            address(relayer),
            abi.encodeCall(TargetLimitedRelayer.relay, (address(market), call)),
            address(relayer),
            false,
            0
        );
        if (ok) {
            // Only a market that pulls without an allowance gets here (the watch has counted it); keep the
            // books straight so the other invariants still describe the market.
            if (op % 3 != 2) {
                spec.requester = address(relayer);
                spec.protocolFee = _feeOf(value); // mode None: no reward
                _track(abi.decode(abi.decode(result, (bytes)), (uint256)), spec);
            }
            return;
        }
        _expectAllowanceError(result, address(relayer), op % 3 == 2 ? value : uint256(value) + _feeOf(value));
        ++performed["relay refused"];
    }

    function cancel(uint256 index) external takesNothing {
        if (index % 4 != 0) return; // requesters cancel now and then, not at every chance
        (bool found, uint256 jobId) = _pick(index / 4, JobStatus.Open);
        if (!found) return;
        Job memory job = _jobs[jobId];
        vm.prank(job.spec.requester);
        market.cancelJob(jobId, job);
        _close(jobId);
        ++performed["cancel"];
    }

    function claim(uint256 index, uint256 who) external takesNothing {
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

    function submit(uint256 index) external takesNothing {
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
    function vote(uint256 index, uint8 slots, uint8 approvals) external takesNothing {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        uint256 seedBlock = uint256(job.state.submitBlock) + 1;
        if (vm.getBlockNumber() <= seedBlock) _mine(seedBlock + 1 - vm.getBlockNumber()); // votes start after it
        if (vm.getBlockNumber() > seedBlock + job.spec.verifyBlocks) return;
        address[] memory committee = market.committeeOf(jobId, job);
        if (committee.length == 0) return;
        slots |= uint8(1 << (index % committee.length)); // at least one slot
        for (uint8 slot; slot < committee.length; ++slot) {
            if ((slots >> slot) & 1 == 0) continue;
            if ((uint256(market.jobWord(jobId)) >> (8 + slot)) & 1 == 1) continue;
            if (market.accountOf(committee[slot]).stake < MIN_VALIDATOR_STAKE) continue;
            vm.prank(committee[slot]);
            market.vote(
                jobId,
                job,
                slot,
                (approvals >> slot) & 1 == 1,
                Evidence(slot, bytes32(0), bytes32(0), VoteReason.Recomputed)
            );
            ++performed["vote"];
        }
    }

    function finalize(uint256 index) external takesNothing {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        uint256 word = uint256(market.jobWord(jobId));
        uint256 accepts = _count((word >> 16) & 0xff);
        uint256 rejects = _count((word >> 8) & 0xff) - accepts;
        uint256 size =
            job.spec.committeeSize < job.state.validatorCount ? job.spec.committeeSize : job.state.validatorCount;
        bool decided = accepts * 2 > size || rejects * 2 > size;
        uint256 lastBlock = uint256(job.state.submitBlock) + 1 + job.spec.verifyBlocks;
        if (!decided && vm.getBlockNumber() <= lastBlock) {
            if (index % 2 == 0) return; // half the time, wait for more votes
            _mine(lastBlock + 1 - vm.getBlockNumber());
        }
        _settle(jobId, job, true);
    }

    function expire(uint256 index) external takesNothing {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() <= job.state.deadline) {
            if (index % 4 != 0) return; // now and then, the provider runs out of time
            vm.warp(job.state.deadline + 1);
        }
        _settle(jobId, job, false);
    }

    function advance(uint16 secondsToWait, uint8 blocks) external takesNothing {
        _mine(blocks % 6);
        vm.warp(vm.getBlockTimestamp() + secondsToWait % 1 hours);
    }

    /// @notice Stakes more (paying as `op / 3` says), requests an unbond, or withdraws a released unbond (by `op`).
    function bond(uint256 who, uint96 amount, uint8 op) external {
        address account = _bonded(who);
        Account memory state = market.accountOf(account);
        if (op % 3 == 0) {
            _stake(account, uint96(uint256(amount) % 1_000e18) + 1, op / 3);
            return;
        }
        Watch memory watch = _snapshot();
        if (op % 3 == 1) {
            uint256 free = state.stake - state.locked;
            if (free < 4) return;
            vm.prank(account);
            market.requestUnbond(uint96(uint256(amount) % (free / 4)) + 1); // small steps keep most actors active
        } else {
            if (state.unbonding == 0 || vm.getBlockTimestamp() < state.unbondingReleaseAt) return;
            vm.prank(account);
            market.withdrawUnbonded();
        }
        _check(watch, address(0), 0);
    }

    function withdraw(uint256 who) external takesNothing {
        address account = _actors[who % _actors.length];
        Account memory state = market.accountOf(account);
        if (state.balance == 0 && state.rewardOwed == 0) return;
        vm.prank(account);
        market.withdraw();
        ++performed["withdraw"];
    }

    /// @notice Tries to settle an already closed job again; success would be a double payment or refund.
    function resettle(uint256 index, uint8 how) external takesNothing {
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

        uint256 supply = token.totalSupply();
        vm.recordLogs();
        if (isFinalize) market.finalize(jobId, job);
        else market.expireJob(jobId, job);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        burned += supply - token.totalSupply();
        for (uint256 i; i < logs.length; ++i) {
            bytes32 topic = logs[i].topics[0];
            if (topic == IJobMarket.ProviderPaid.selector) {
                ++performed["paid"];
                uint256 paid = ++timesPaid[uint256(logs[i].topics[1])];
                if (paid > maxTimesPaid) maxTimesPaid = paid;
                (, uint96 reward) = abi.decode(logs[i].data, (uint96, uint96));
                uint256 epoch = vm.getBlockTimestamp() / EPOCH_LENGTH;
                uint256 rewarded = epochRewarded[epoch] += reward;
                if (rewarded > maxEpochRewarded) maxEpochRewarded = rewarded;
                if (reward != 0) ++performed["rewarded"];
            } else if (topic == IJobMarket.RewardCapped.selector) {
                ++performed["reward capped"];
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

    function _stake(address account, uint96 amount, uint8 how) private {
        _fund(account, amount);
        (bool paid,) = _pay(account, amount, how, abi.encodeCall(IStaking.stake, (amount)));
        if (paid) ++performed["stake"];
    }

    function _feeOf(uint96 budget) private pure returns (uint96) {
        return uint96((uint256(budget) * FEE_BPS + 9_999) / 10_000);
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }

    function _track(uint256 jobId, JobSpec memory spec) private {
        _jobs[jobId].spec = spec;
        _liveIds.push(jobId);
    }

    // ------------------------------------------------------------------ payments and the allowance watch

    /// @notice Checks that no market call inside the action moved tokens out of an account or touched an
    /// allowance (the actions that pay go through `_pay` instead).
    modifier takesNothing() {
        Watch memory watch = _snapshot();
        _;
        _check(watch, address(0), 0);
    }

    /// @dev Pays the market `amount` from `payer` by calling `plainCall` (a `postJob` or `stake`), or its
    /// `*WithPermit` twin, as `how` picks. Returns whether the market took the payment, and what it returned.
    function _pay(address payer, uint256 amount, uint8 how, bytes memory plainCall)
        private
        returns (bool ok, bytes memory result)
    {
        Pay pay = Pay(how % 4);
        bytes memory call = plainCall;
        bool permitFresh;
        if (pay == Pay.Standing) {
            if (token.allowance(payer, address(market)) < amount) _approve(payer, amount * 3);
        } else if (pay == Pay.Exact) {
            _approve(payer, amount);
        } else if (pay == Pay.Permit) {
            call = _withPermit(plainCall, payer, amount);
            permitFresh = how & 0x10 == 0;
            if (!permitFresh) {
                // Someone saw the permit in the mempool and submitted it first: the post must still go through.
                _submitPermit(call, payer);
                ++performed["permit front-run"];
            }
        } else {
            uint256 short = amount - 1 - uint256(keccak256(abi.encode(how, amount))) % amount;
            _approve(payer, short);
            if (how & 0x10 != 0) call = _withPermit(plainCall, payer, amount - 1); // signed for another amount
        }

        (ok, result) = _watched(payer, address(market), call, payer, permitFresh, amount);
        if (pay != Pay.Short) {
            if (!ok) ++unexpectedRefusals; // funded and authorized: the payment must succeed
            if (pay == Pay.Permit && ok) ++performed["paid by permit"];
            return (ok, result);
        }
        if (!ok) {
            _expectAllowanceError(result, payer, amount);
            ++performed["short allowance refused"];
        }
    }

    /// @dev `caller` calls `target` with `data`, watching every account: the token's balances may only fall by
    /// an account's authorization to the market, and its allowance must fall by exactly what was taken.
    /// `payer`'s authorization is the permit's value when `permitFresh` (a permit that will apply in the call),
    /// else its allowance.
    function _watched(
        address caller,
        address target,
        bytes memory data,
        address payer,
        bool permitFresh,
        uint256 permitValue
    ) private returns (bool ok, bytes memory result) {
        Watch memory watch = _snapshot();
        vm.prank(caller);
        (ok, result) = target.call(data);
        _check(watch, permitFresh ? payer : address(0), permitValue);
    }

    function _snapshot() private view returns (Watch memory watch) {
        uint256 count = _actors.length;
        watch.balances = new uint256[](count);
        watch.allowances = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            watch.balances[i] = token.balanceOf(_actors[i]);
            watch.allowances[i] = token.allowance(_actors[i], address(market));
        }
    }

    function _check(Watch memory watch, address permitted, uint256 permitValue) private {
        for (uint256 i; i < _actors.length; ++i) {
            address account = _actors[i];
            uint256 authorized = account == permitted ? permitValue : watch.allowances[i];
            uint256 balance = token.balanceOf(account);
            uint256 allowance = token.allowance(account, address(market));
            if (balance >= watch.balances[i]) {
                // Nothing taken: a permit alone may set the allowance, nothing else may touch it.
                if (allowance != watch.allowances[i] && !(account == permitted && allowance == permitValue)) {
                    ++unauthorizedPulls;
                }
                continue;
            }
            uint256 taken = watch.balances[i] - balance;
            if (taken > authorized || allowance != authorized - taken) ++unauthorizedPulls;
        }
    }

    /// @dev A refused payment must fail with the token's own error naming the market, the allowance and the need.
    function _expectAllowanceError(bytes memory reason, address payer, uint256 amount) private {
        bytes memory expected = abi.encodeWithSelector(
            IERC20Errors.ERC20InsufficientAllowance.selector,
            address(market),
            token.allowance(payer, address(market)),
            amount
        );
        if (keccak256(reason) != keccak256(expected)) ++unexpectedRefusals;
    }

    function _approve(address account, uint256 amount) private {
        vm.prank(account);
        token.approve(address(market), amount);
    }

    /// @dev `plainCall` (`postJob(spec)` or `stake(amount)`) as its `*WithPermit` twin, signed by `payer` for
    /// `value`, valid for an hour.
    function _withPermit(bytes memory plainCall, address payer, uint256 value) private view returns (bytes memory) {
        uint256 deadline = vm.getBlockTimestamp() + 1 hours;
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, payer, address(market), value, token.nonces(payer), deadline));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(_keys[payer], keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        if (bytes4(plainCall) == IJobMarket.postJob.selector) {
            JobSpec memory spec = abi.decode(_arguments(plainCall), (JobSpec));
            return abi.encodeCall(IJobMarket.postJobWithPermit, (spec, deadline, v, r, s));
        }
        uint96 amount = abi.decode(_arguments(plainCall), (uint96));
        return abi.encodeCall(IStaking.stakeWithPermit, (amount, deadline, v, r, s));
    }

    /// @dev Submits the permit inside a `*WithPermit` call straight to the token, as a front-runner would.
    function _submitPermit(bytes memory permitCall, address owner) private {
        bytes memory args = _arguments(permitCall);
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
        if (bytes4(permitCall) == IJobMarket.postJobWithPermit.selector) {
            JobSpec memory spec;
            (spec, deadline, v, r, s) = abi.decode(args, (JobSpec, uint256, uint8, bytes32, bytes32));
            value = uint256(spec.budget) + _feeOf(spec.budget) + uint256(spec.committeeSize) * spec.validatorFee;
        } else {
            uint96 amount;
            (amount, deadline, v, r, s) = abi.decode(args, (uint96, uint256, uint8, bytes32, bytes32));
            value = amount;
        }
        token.permit(owner, address(market), value, deadline, v, r, s);
    }

    /// @dev A call's ABI-encoded arguments (the calldata after the selector).
    function _arguments(bytes memory call) private pure returns (bytes memory args) {
        args = new bytes(call.length - 4);
        for (uint256 i; i < args.length; ++i) {
            args[i] = call[i + 4];
        }
    }

    /// @dev A new actor whose key the handler holds (to sign permits).
    function _keyed(uint256 key) private returns (address account) {
        account = vm.addr(key);
        _keys[account] = key;
        _actors.push(account);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
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
