// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IKeyRelease} from "../../../contracts/interfaces/IKeyRelease.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {
    Account,
    Capabilities,
    Evidence,
    Job,
    JobSpec,
    JobStatus,
    MarketConfig,
    ROSTER_DEPTH,
    VerificationMode,
    VoteReason
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {ICrowdTokenFull} from "../utils/ICrowdTokenFull.sol";
import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice Drives the market with random but valid actions. It never reverts: every action clamps its inputs
/// and skips when its preconditions do not hold, so any revert the fuzzer sees is a bug in the market (or in the
/// handler's model of it). It keeps the `Job` of every live job, like a client rebuilding jobs from events, a copy
/// of the roster as each job's submission saw it (seats are proven against that snapshot while validators join,
/// top up, unbond and get slashed in between), and ghost counters for what the invariants check.
/// Validators: five regular ones from the start, five that join later, and six "sybils" that sit at exactly the
/// minimum stake and unbond between jobs.
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
    uint256 private constant REGULAR = 5;
    uint256 private constant JOINERS = 5;
    uint256 private constant SYBILS = 6;
    /// @dev Leaves any handler validator can hold: at most this many validators exist.
    uint256 private constant POOL = REGULAR + JOINERS + SYBILS;

    ICrowdMarket public immutable market;
    ICrowdTokenFull public immutable token;
    address private immutable treasury = address(0x7EA5);

    address[] private _requesters;
    address[] private _providers;
    address[] private _validators;
    address[] private _actors;
    mapping(address validator => uint256 key) private _keys;
    mapping(address validator => bool) private _registered;

    /// @dev The roster nodes that can be nonzero (those above leaves 0..POOL-1), as each job's submission saw
    /// them, and who held each leaf then.
    mapping(uint256 jobId => mapping(uint256 node => bytes32 word)) private _snapNodes;
    mapping(uint256 jobId => mapping(uint256 leaf => address holder)) private _snapHolders;

    uint256[] private _liveIds;
    mapping(uint256 jobId => Job) private _jobs;
    uint256[] private _closedIds;

    /// @notice Rewards owed to providers (ProviderPaid) per epoch, and the most any epoch got.
    mapping(uint256 epoch => uint256) public epochRewarded;
    uint256 public maxEpochRewarded;
    /// @notice Protocol fees accepted jobs gave up: set aside by settlements to be burned (`burnFees`).
    uint256 public burned;
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
        for (uint256 i; i < POOL; ++i) {
            uint256 key = 0x3000 + i;
            address validator = vm.addr(key);
            _keys[validator] = key;
            _validators.push(validator);
            _actors.push(validator);
            if (i < REGULAR) _join(validator, 200e18);
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
        spec.mode = VerificationMode(flags % 4);
        spec.committeeSize = spec.mode == VerificationMode.None ? 0 : 2 * (committee % 4) + 1; // 1, 3, 5, 7
        spec.samplesPerValidator = 1;
        spec.validatorFee = uint96(uint256(fee) % 20e18);
        uint256 floor =
            _max(uint256(spec.committeeSize) * spec.validatorFee, uint256(spec.budget) * MIN_COLLATERAL_BPS / 10_000);
        spec.collateral = uint96(floor + uint256(fee % 500e18));
        spec.runTimeout = 3_600 + timeout % 1 days;
        spec.verifyBlocks = uint16(1 + (flags >> 2) % 30);
        spec.reopenOnFailure = flags & 0x80 != 0;
        // About half the jobs are confidential (a requester's result key), so claims can be given back.
        if (timeout >> 31 == 1) spec.resultKey = keccak256(abi.encode("result key", who));

        address requester = _requesters[who % _requesters.length];
        uint96 protocolFee = _feeOf(spec.budget);
        uint256 escrow = uint256(spec.budget) + protocolFee + uint256(spec.committeeSize) * spec.validatorFee;
        if (token.balanceOf(requester) < escrow) _fund(requester, escrow);
        uint256 reward = spec.mode == VerificationMode.None ? 0 : uint256(spec.budget) * REWARD_BPS / 10_000;
        if (reward > market.rewardsRemaining()) reward = market.rewardsRemaining();

        vm.prank(requester);
        token.approve(address(market), escrow);
        vm.prank(requester);
        uint256 jobId = market.postJob(spec);
        spec.requester = requester;
        spec.reward = uint96(reward);
        spec.protocolFee = protocolFee;
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

    function claim(uint256 index, uint256 who) public {
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

    function submit(uint256 index) public {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() > job.state.deadline) return;
        bytes32 roster = job.spec.mode == VerificationMode.None ? bytes32(0) : market.rosterRoot();
        vm.prank(job.state.provider);
        market.submitResult(jobId, job, keccak256(abi.encode(jobId)), 0x55, bytes32(jobId), 4);
        _jobs[jobId].state.submitBlock = uint64(vm.getBlockNumber());
        _jobs[jobId].state.rosterRoot = roster;
        _snapshotRoster(jobId);
        _jobs[jobId].state.resultHash =
            keccak256(abi.encode(keccak256(abi.encode(jobId)), uint8(0x55), bytes32(jobId), uint32(4)));
        ++performed["submit"];
    }

    /// @notice Finalizes a submitted job with random ballots (two bits per seat: silent, approve or reject) once
    /// the window and, with a committee, the appeal window are over (half the time it waits instead).
    function finalize(uint256 index, uint256 ballotBits) public {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Submitted);
        if (!found) return;
        Job memory job = _jobs[jobId];
        uint256 seedBlock = uint256(job.state.submitBlock) + 1;
        if (vm.getBlockNumber() <= seedBlock + 1) _mine(seedBlock + 2 - vm.getBlockNumber());
        Ballot[] memory ballots = new Ballot[](job.spec.committeeSize);
        for (uint256 seat; seat < ballots.length; ++seat) {
            ballots[seat] = Ballot(((ballotBits >> (2 * seat)) & 3) % 3);
        }
        SeatVote[] memory seats = seatsOf(jobId, ballots);
        uint256 lastBlock = seedBlock + job.spec.verifyBlocks;
        if (job.spec.mode != VerificationMode.None) lastBlock += job.spec.verifyBlocks; // the appeal window
        if (vm.getBlockNumber() <= lastBlock) {
            if (index % 2 == 0) return; // half the time, wait for the windows to close
            _mine(lastBlock + 1 - vm.getBlockNumber());
            seats = seatsOf(jobId, ballots); // the seed may have aged out meanwhile
        }
        if (seats.length != 0) ++performed["seated"];
        _settle(jobId, job, seats, true);
    }

    /// @notice Every seat of a submitted job, proven against its roster snapshot, with `ballots` (signed by the
    /// holders); no seat when none can be drawn (no roster, or the seed block is unreadable).
    function seatsOf(uint256 jobId, Ballot[] memory ballots) public view returns (SeatVote[] memory seats) {
        Job memory job = _jobs[jobId];
        uint256 total = Roster.sumOf(job.state.rosterRoot);
        if (job.spec.mode == VerificationMode.None || total == 0) return seats;
        bytes32 seed;
        try market.seedOf(jobId, job) returns (bytes32 readable) {
            seed = readable;
        } catch {
            return seats;
        }
        seats = new SeatVote[](job.spec.committeeSize);
        for (uint256 seat; seat < seats.length; ++seat) {
            uint256 leaf = _leafAt(jobId, Roster.seatPosition(seed, seat, total));
            SeatVote memory vote = seats[seat];
            vote.leaf = uint16(leaf);
            vote.validator = _snapHolders[jobId][leaf];
            vote.weight = uint96(Roster.sumOf(_snapNodes[jobId][Roster.CAPACITY + leaf]));
            uint256 node = Roster.CAPACITY + leaf;
            for (uint256 level; level < ROSTER_DEPTH; ++level) {
                vote.siblings[level] = _snapNodes[jobId][node ^ 1];
                node >>= 1;
            }
            vote.ballot = seat < ballots.length ? ballots[seat] : Ballot.Silent;
            vote.evidence = Evidence(uint32(seat), bytes32(jobId), bytes32(seat), VoteReason.Recomputed);
            if (vote.ballot == Ballot.Silent) continue;
            bytes32 digest = market.voteDigest(
                jobId, job.state.round, job.state.resultHash, uint8(seat), vote.ballot == Ballot.Approve, vote.evidence
            );
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keys[vote.validator], digest);
            (vote.r, vote.vs) = (r, bytes32(uint256(v - 27) << 255 | uint256(s)));
        }
    }

    /// @notice Moves a live job one step on (claim, submit or finalize, by its status), so that runs reach
    /// settlement often rather than by the luck of the call order.
    function progress(uint256 index, uint256 who, uint256 ballotBits) external {
        uint256 count = _liveIds.length;
        if (count == 0) return;
        JobStatus status = market.statusOf(_liveIds[index % count]);
        if (status == JobStatus.Open) claim(index, who);
        else if (status == JobStatus.Claimed) submit(index);
        else if (status == JobStatus.Submitted) finalize(index | 1, ballotBits); // odd: never waits
    }

    function expire(uint256 index) external {
        (bool found, uint256 jobId) = _pick(index, JobStatus.Claimed);
        if (!found) return;
        Job memory job = _jobs[jobId];
        if (vm.getBlockTimestamp() <= job.state.deadline) {
            if (index % 4 != 0) return; // now and then, the provider runs out of time
            vm.warp(job.state.deadline + 1);
        }
        _settle(jobId, job, new SeatVote[](0), false);
    }

    /// @notice A confidential job's requester releases the content key (inside the key window or late).
    function releaseKey(uint256 index) external {
        (bool found, uint256 jobId) = _pickConfidentialClaim(index);
        if (!found) return;
        Job memory job = _jobs[jobId];
        IKeyRelease keys = IKeyRelease(market.keyRelease());
        vm.prank(job.spec.requester);
        keys.releaseKey(jobId, job, abi.encodePacked(keccak256(abi.encode(index))));
        ++performed["releaseKey"];
    }

    /// @notice A confidential job's claimant gives its claim back before the deadline: free without a recorded key,
    /// its collateral burned with one.
    function releaseClaim(uint256 index) external {
        (bool found, uint256 jobId) = _pickConfidentialClaim(index);
        if (!found) return;
        Job memory job = _jobs[jobId];
        bool keyed = IKeyRelease(market.keyRelease()).keyReleased(jobId, job.state.provider, job.state.deadline);
        uint256 supply = token.totalSupply();
        uint256 pending = market.feesToBurn();
        uint96 lockedBefore = market.accountOf(job.state.provider).locked;
        vm.prank(job.state.provider);
        market.releaseClaim(jobId, job);
        assertEq(token.totalSupply(), supply, "a release burns nothing at once: the collateral is set aside");
        uint256 setAside = market.feesToBurn() - pending;
        burned += setAside;
        if (setAside != (keyed ? job.spec.collateral : 0)) ++slashViolations;
        if (lockedBefore - market.accountOf(job.state.provider).locked != job.spec.collateral) ++slashViolations;
        if (market.statusOf(jobId) == JobStatus.Open) {
            Job storage reopened = _jobs[jobId];
            uint16 attempts = reopened.state.attempts + (keyed ? 1 : 0);
            delete reopened.state;
            reopened.state.attempts = attempts;
        } else {
            _close(jobId);
        }
        ++performed[keyed ? bytes32("releaseClaim burned") : bytes32("releaseClaim free")];
    }

    function advance(uint16 secondsToWait, uint8 blocks) external {
        _mine(blocks % 6);
        vm.warp(vm.getBlockTimestamp() + secondsToWait % 1 hours);
    }

    /// @notice Stakes more (a validator back at the minimum rejoins the roster), requests an unbond (a validator
    /// below the minimum leaves it), or withdraws a released unbond (by `op`).
    function bond(uint256 who, uint96 amount, uint8 op) external {
        address account = _bonded(who);
        Account memory state = market.accountOf(account);
        if (op % 3 == 0) {
            _stake(account, uint96(uint256(amount) % 1_000e18) + 1);
            ++performed["topUp"];
        } else if (op % 3 == 1) {
            uint256 free = state.stake - state.locked;
            if (free == 0) return;
            // Small steps keep most actors active; now and then a validator unbonds everything.
            uint256 step = op % 8 == 1 ? free : uint256(amount) % (free / 4 + 1) + 1;
            vm.prank(account);
            market.requestUnbond(uint96(step));
            ++performed["unbond"];
        } else {
            if (state.unbonding == 0 || vm.getBlockTimestamp() < state.unbondingReleaseAt) return;
            vm.prank(account);
            market.withdrawUnbonded();
        }
    }

    /// @notice A later validator joins with a random stake of at least the minimum.
    function join(uint256 who, uint96 amount) external {
        address validator = _validators[REGULAR + who % JOINERS];
        if (_registered[validator]) return;
        _join(validator, MIN_VALIDATOR_STAKE + uint96(uint256(amount) % 500e18));
    }

    /// @notice A sybil at the minimum stake: registers, or unbonds everything (leaving the roster), or stakes back
    /// to exactly the minimum (rejoining it). Between jobs, so it is drawn only from the snapshots it sat in.
    function sybil(uint256 who) external {
        address validator = _validators[REGULAR + JOINERS + who % SYBILS];
        if (!_registered[validator]) {
            _join(validator, MIN_VALIDATOR_STAKE);
            ++performed["sybil"];
            return;
        }
        Account memory state = market.accountOf(validator);
        if (state.stake >= MIN_VALIDATOR_STAKE) {
            vm.prank(validator);
            market.requestUnbond(state.stake);
        } else {
            _stake(validator, MIN_VALIDATOR_STAKE - state.stake);
        }
        ++performed["sybil"];
    }

    /// @notice Anyone burns the fees set aside: the supply falls by exactly what was pending.
    function burnFees() external {
        uint256 pending = market.feesToBurn();
        uint256 supply = token.totalSupply();
        market.burnFees();
        assertEq(supply - token.totalSupply(), pending, "burned what was set aside");
        if (pending != 0) ++performed["burnFees"];
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
            try market.finalize(jobId, job, new SeatVote[](0)) {
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

    function validators() external view returns (address[] memory) {
        return _validators;
    }

    /// @notice Whether `validator` ever registered (a registered validator below the minimum is off the roster).
    function registered(address validator) external view returns (bool) {
        return _registered[validator];
    }

    // ------------------------------------------------------------------ internals

    /// @dev Finalizes or expires, checking every StakeSlashed against what the account had at risk.
    function _settle(uint256 jobId, Job memory job, SeatVote[] memory seats, bool isFinalize) private {
        Account[] memory before = new Account[](_actors.length);
        for (uint256 i; i < _actors.length; ++i) {
            before[i] = market.accountOf(_actors[i]);
        }

        uint256 supply = token.totalSupply();
        uint256 pending = market.feesToBurn();
        vm.recordLogs();
        if (isFinalize) market.finalize(jobId, job, seats);
        else market.expireJob(jobId, job);
        assertEq(token.totalSupply(), supply, "settling burns nothing: fees are set aside");
        burned += market.feesToBurn() - pending;
        Vm.Log[] memory logs = vm.getRecordedLogs();
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
            } else if (amount > uint256(before[i].stake) + before[i].unbonding || amount > _seatBond(job)) {
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

    /// @dev A claimed confidential job whose deadline has not passed, if any.
    function _pickConfidentialClaim(uint256 index) private view returns (bool found, uint256 jobId) {
        uint256 count = _liveIds.length;
        for (uint256 i; i < count; ++i) {
            jobId = _liveIds[(index % count + i) % count];
            Job storage job = _jobs[jobId];
            if (
                job.spec.resultKey != 0 && market.statusOf(jobId) == JobStatus.Claimed
                    && vm.getBlockTimestamp() <= job.state.deadline
            ) return (true, jobId);
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

    function _join(address validator, uint96 amount) private {
        _stake(validator, amount);
        vm.prank(validator);
        market.registerValidator();
        _registered[validator] = true;
        ++performed["join"];
    }

    /// @dev Copies the roster nodes above leaves 0..POOL-1 (all others are empty) and the leaves' holders.
    function _snapshotRoster(uint256 jobId) private {
        for (uint256 level; level <= ROSTER_DEPTH; ++level) {
            uint256 first = Roster.CAPACITY >> level;
            uint256 last = first + ((POOL - 1) >> level);
            for (uint256 node = first; node <= last; ++node) {
                _snapNodes[jobId][node] = market.rosterNode(node);
            }
        }
        for (uint256 leaf; leaf < POOL; ++leaf) {
            delete _snapHolders[jobId][leaf];
        }
        for (uint256 i; i < _validators.length; ++i) {
            (bool live, uint256 leaf) = market.rosterLeafOf(_validators[i]);
            if (live) _snapHolders[jobId][leaf] = _validators[i];
        }
    }

    /// @dev The snapshot leaf whose weight interval holds `position`.
    function _leafAt(uint256 jobId, uint256 position) private view returns (uint256) {
        uint256 node = 1;
        for (uint256 level; level < ROSTER_DEPTH; ++level) {
            uint256 left = Roster.sumOf(_snapNodes[jobId][node * 2]);
            if (position < left) {
                node = node * 2;
            } else {
                position -= left;
                node = node * 2 + 1;
            }
        }
        return node - Roster.CAPACITY;
    }

    function _seatBond(Job memory job) private pure returns (uint256) {
        uint256 scaled = uint256(job.spec.budget) / ((uint256(job.spec.committeeSize) + 1) / 2);
        return scaled > VALIDATOR_SLASH ? scaled : VALIDATOR_SLASH;
    }

    function _feeOf(uint96 budget) private pure returns (uint96) {
        return uint96((uint256(budget) * FEE_BPS + 9_999) / 10_000);
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
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

    /// @dev Mines `count` blocks (12 s each), giving each past block a hash as a real chain would.
    function _mine(uint256 count) private {
        for (uint256 i; i < count; ++i) {
            uint256 number = vm.getBlockNumber();
            vm.setBlockhash(number, keccak256(abi.encode("block", number)));
            vm.roll(number + 1);
        }
        vm.warp(vm.getBlockTimestamp() + 12 * count);
    }
}
