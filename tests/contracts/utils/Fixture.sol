// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICrowdMarket} from "../../../contracts/interfaces/ICrowdMarket.sol";
import {Roster} from "../../../contracts/market/Roster.sol";
import {
    Account,
    Capabilities,
    Evidence,
    FINAL_ROUND,
    Job,
    JobSpec,
    JobState,
    MarketConfig,
    ROSTER_DEPTH,
    ROUND_1_SEATS,
    ROUND_2_SEATS,
    VerificationMode,
    VoteReason
} from "../../../contracts/market/Types.sol";
import {Ballot, SeatVote} from "../../../contracts/market/Votes.sol";
import {ICrowdTokenFull} from "./ICrowdTokenFull.sol";
import {ITimelock} from "./ITimelock.sol";
import {Test} from "./Test.sol";

/// @notice A deployed market with funded actors: one requester, two providers, six staked validators, and
/// helpers that drive a job while keeping the `Job` a client would rebuild from events.
abstract contract Fixture is Test {
    uint256 internal constant INITIAL_SUPPLY = 1_000_000_000e18;
    uint256 internal constant CAP = 2_000_000_000e18;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint96 internal constant MIN_PROVIDER_STAKE = 100e18;
    uint96 internal constant MIN_VALIDATOR_STAKE = 50e18;
    uint96 internal constant VALIDATOR_SLASH = 10e18;
    uint16 internal constant REWARD_BPS = 500;
    uint16 internal constant FEE_BPS = 600;
    uint16 internal constant MIN_COLLATERAL_BPS = 1_000;
    uint64 internal constant EPOCH_LENGTH = 1 days;
    uint96 internal constant EPOCH_REWARD_CAP = 1_000_000e18;
    uint96 internal constant PROVIDER_STAKE = 10_000e18;
    uint96 internal constant VALIDATOR_STAKE = 1_000e18;
    uint256 internal constant VALIDATORS = 6;
    uint256 internal constant TIMELOCK_DELAY = 2 days;

    bytes32 internal constant RESULT_DIGEST = keccak256("result");
    uint8 internal constant RESULT_CODEC = 0x55;
    bytes32 internal constant CHECKPOINT_ROOT = keccak256("checkpoints");
    uint32 internal constant CHECKPOINT_COUNT = 12;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    ICrowdMarket internal market;
    ICrowdTokenFull internal token;

    address internal treasury = address(0x7EA5);
    /// @dev Proposes and executes on the timelock (a multisig in production).
    address internal proposer = address(0x9409);
    address internal guardian = address(0x6A4D);
    ITimelock internal timelock;
    uint256 internal requesterKey = 0xA11CE;
    address internal requester;
    address internal provider = address(0xB0B);
    address internal otherProvider = address(0xB0B2);
    address[] internal validators;
    /// @dev Signing keys of every validator a test registers (`_addValidator`), by address.
    mapping(address validator => uint256 key) internal validatorKeys;
    address[] internal knownValidators;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        market = _deployMarket(_config(), INITIAL_SUPPLY, CAP);
        token = _tokenOf(market);
        requester = vm.addr(requesterKey);
        vm.label(address(market), "market");
        vm.label(address(token), "token");
        vm.label(requester, "requester");
        vm.label(provider, "provider");

        // The market pulls only what it was allowed to: the requester keeps a standing (finite) allowance, as a
        // client that approved once does; every stake approves exactly what it pays.
        _fund(requester, 1_000_000e18);
        _approveMarket(requester, 1_000_000e18);

        _registerProvider(provider, _caps());
        _stakeAs(provider, PROVIDER_STAKE);
        _registerProvider(otherProvider, _caps());
        _stakeAs(otherProvider, PROVIDER_STAKE);

        for (uint256 i; i < VALIDATORS; ++i) {
            validators.push(_addValidator(0xA000 + i, VALIDATOR_STAKE));
        }
    }

    /// @dev Stakes and registers a validator whose signing key is `key`; returns its address.
    function _addValidator(uint256 key, uint96 amount) internal returns (address validator) {
        validator = vm.addr(key);
        validatorKeys[validator] = key;
        knownValidators.push(validator);
        _stakeAs(validator, amount);
        vm.prank(validator);
        market.registerValidator();
    }

    // ------------------------------------------------------------------ parameters

    function _tokenOf(ICrowdMarket deployed) internal view returns (ICrowdTokenFull) {
        return ICrowdTokenFull(deployed.token());
    }

    /// @dev Deploys the market from its build artifact (compiled as production compiles it), governed by a
    /// fresh timelock (`proposer` proposes and executes) and guarded by `guardian`.
    function _deployMarket(MarketConfig memory cfg, uint256 initialSupply, uint256 cap)
        internal
        returns (ICrowdMarket)
    {
        timelock = ITimelock(_deployTimelock(TIMELOCK_DELAY, proposer));
        return ICrowdMarket(
            deploy(
                "CrowdMarket.sol:CrowdMarket",
                abi.encode(cfg, treasury, initialSupply, cap, address(timelock), guardian)
            )
        );
    }

    /// @dev A MarketTimelock with one proposer who is also its only executor, administering itself.
    function _deployTimelock(uint256 delay, address proposer_) internal returns (address) {
        address[] memory roles = new address[](1);
        roles[0] = proposer_;
        return deploy("MarketTimelock.sol:MarketTimelock", abi.encode(delay, roles, roles, address(0)));
    }

    function _config() internal pure virtual returns (MarketConfig memory) {
        return MarketConfig({
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
    }

    function _caps() internal pure returns (Capabilities memory) {
        return Capabilities({
            gpuCount: 2, gpuMemoryMiB: 24_576, gpuClass: 3, cpuCores: 16, memoryMiB: 65_536, pricePerHour: 2e18
        });
    }

    function _spec() internal pure returns (JobSpec memory) {
        return JobSpec({
            requester: address(0),
            budget: 1_000e18,
            bundleDigest: keccak256("bundle"),
            bundleCodec: 0x55,
            gpuCount: 1,
            gpuMemoryMiB: 16_384,
            gpuClass: 1,
            cpuCores: 4,
            memoryMiB: 32_768,
            collateral: 200e18,
            runTimeout: 3_600,
            mode: VerificationMode.Segments,
            committeeSize: 3,
            samplesPerValidator: 2,
            verifyBlocks: 20,
            validatorFee: 5e18,
            reward: 0,
            protocolFee: 0,
            reopenOnFailure: false,
            resultKey: bytes32(0)
        });
    }

    // ------------------------------------------------------------------ actors

    function _fund(address account, uint256 amount) internal {
        vm.prank(treasury);
        token.transfer(account, amount);
    }

    function _approveMarket(address account, uint256 amount) internal {
        vm.prank(account);
        token.approve(address(market), amount);
    }

    function _stakeAs(address account, uint96 amount) internal {
        _fund(account, amount);
        _approveMarket(account, amount);
        vm.prank(account);
        market.stake(amount);
    }

    function _registerProvider(address account, Capabilities memory caps) internal {
        vm.prank(account);
        market.registerProvider(caps, keccak256(abi.encode("metadata", account)));
    }

    function _account(address account) internal view returns (Account memory) {
        return market.accountOf(account);
    }

    // ------------------------------------------------------------------ job steps (return the updated Job)

    /// @dev What a post pulls: the budget, the protocol fee the market sets, and the committee's fees.
    function _escrowOf(JobSpec memory spec) internal view returns (uint256) {
        return uint256(spec.budget) + _expectedFee(spec.budget) + uint256(spec.committeeSize) * spec.validatorFee;
    }

    /// @dev `ceil(budget * feeBps / 10_000)` at the deployed market's rate.
    function _expectedFee(uint96 budget) internal view returns (uint96) {
        return uint96((uint256(budget) * market.config().feeBps + 9_999) / 10_000);
    }

    /// @dev An EIP-2612 permit by `key`'s account for the market to take `value`, signed with the current nonce.
    function _signPermit(uint256 key, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(market), value, token.nonces(owner), deadline));
        return vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function _expectedReward(JobSpec memory spec) internal view returns (uint96) {
        if (spec.mode == VerificationMode.None) return 0;
        uint256 reward = uint256(spec.budget) * market.config().rewardBps / 10_000;
        uint256 remaining = market.rewardsRemaining();
        return uint96(reward < remaining ? reward : remaining);
    }

    function _post(JobSpec memory spec) internal returns (uint256 jobId, Job memory job) {
        return _postAs(requester, spec);
    }

    function _postAs(address who, JobSpec memory spec) internal returns (uint256 jobId, Job memory job) {
        uint96 reward = _expectedReward(spec);
        uint96 protocolFee = _expectedFee(spec.budget);
        uint256 escrow = _escrowOf(spec);
        if (token.allowance(who, address(market)) < escrow) _approveMarket(who, escrow);
        vm.prank(who);
        jobId = market.postJob(spec);
        spec.requester = who;
        spec.reward = reward;
        spec.protocolFee = protocolFee;
        job.spec = spec;
    }

    function _claim(uint256 jobId, Job memory job, address who) internal returns (Job memory) {
        vm.prank(who);
        market.claimJob(jobId, job);
        job.state.provider = who;
        job.state.deadline = uint64(vm.getBlockTimestamp()) + job.spec.runTimeout;
        return job;
    }

    function _submit(uint256 jobId, Job memory job) internal returns (Job memory) {
        bytes32 roster = job.spec.mode == VerificationMode.None ? bytes32(0) : market.rosterRoot();
        vm.prank(job.state.provider);
        market.submitResult(jobId, job, RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT);
        job.state.submitBlock = uint64(vm.getBlockNumber());
        job.state.rosterRoot = roster;
        job.state.resultHash = _resultHash();
        return job;
    }

    function _resultHash() internal pure returns (bytes32) {
        return keccak256(abi.encode(RESULT_DIGEST, RESULT_CODEC, CHECKPOINT_ROOT, CHECKPOINT_COUNT));
    }

    /// @dev Posts, claims (as `provider`), submits and mines the seed block and one more, so the seed is readable.
    function _submitted(JobSpec memory spec) internal returns (uint256 jobId, Job memory job) {
        (jobId, job) = _post(spec);
        job = _claim(jobId, job, provider);
        job = _submit(jobId, job);
        _mine(2);
    }

    /// @dev The block whose hash seeds a submitted job: the one after the submission.
    function _seedBlock(Job memory job) internal pure returns (uint256) {
        return uint256(job.state.submitBlock) + 1;
    }

    /// @dev The last block that accepts a vote on a submitted job.
    function _lastVoteBlock(Job memory job) internal pure returns (uint256) {
        return _seedBlock(job) + job.spec.verifyBlocks;
    }

    function _evidence(uint256 seat) internal pure returns (Evidence memory) {
        return Evidence({
            segment: uint32(seat),
            committedDigest: keccak256("committed"),
            recomputedDigest: keccak256("ok"),
            reason: VoteReason.Recomputed
        });
    }

    /// @dev The holders of the job's seats, drawn from the roster as it is now (tests do not change validator stake
    /// between a submission and its seats unless they say so).
    function _committee(uint256 jobId, Job memory job) internal view returns (address[] memory holders) {
        bytes32 seed = market.seedOf(jobId, job);
        uint256 total = Roster.sumOf(job.state.rosterRoot);
        holders = new address[](_roundSeats(job));
        for (uint256 seat; seat < holders.length; ++seat) {
            holders[seat] = _holderOfLeaf(_leafAt(Roster.seatPosition(seed, seat, total)));
        }
    }

    /// @dev Every seat with the given ballots (seat `j` gets `ballots[j]`), proven and signed by its holder.
    function _seats(uint256 jobId, Job memory job, Ballot[] memory ballots)
        internal
        view
        returns (SeatVote[] memory seats)
    {
        address[] memory holders = _committee(jobId, job);
        seats = new SeatVote[](holders.length);
        for (uint256 seat; seat < holders.length; ++seat) {
            seats[seat] = _seatVote(jobId, job, seat, holders[seat], ballots[seat]);
        }
    }

    /// @dev Seat `seat` held by `holder`, proven from the roster as stored now, signed unless silent.
    function _seatVote(uint256 jobId, Job memory job, uint256 seat, address holder, Ballot ballot)
        internal
        view
        returns (SeatVote memory vote)
    {
        (, uint256 leaf) = market.rosterLeafOf(holder);
        vote.leaf = uint16(leaf);
        vote.validator = holder;
        vote.weight = uint96(Roster.sumOf(market.rosterNode(Roster.CAPACITY + leaf)));
        uint256 node = Roster.CAPACITY + leaf;
        for (uint256 level; level < ROSTER_DEPTH; ++level) {
            vote.siblings[level] = market.rosterNode(node ^ 1);
            node >>= 1;
        }
        vote.ballot = ballot;
        vote.evidence = _evidence(seat);
        if (ballot != Ballot.Silent) {
            bytes32 digest = market.voteDigest(
                jobId, job.state.round, job.state.resultHash, uint8(seat), ballot == Ballot.Approve, vote.evidence
            );
            (uint8 v, bytes32 r, bytes32 sig) = vm.sign(validatorKeys[holder], digest);
            vote.r = r;
            vote.vs = bytes32(uint256(v - 27) << 255 | uint256(sig));
        }
    }

    /// @dev Finalizes with every seat voting as `ballots` says, once nobody can appeal any more (below the final
    /// round a decision stands only after its appeal window).
    function _finalize(uint256 jobId, Job memory job, Ballot[] memory ballots) internal {
        SeatVote[] memory seats = _seats(jobId, job, ballots);
        _closeWindow(job);
        market.finalize(jobId, job, seats);
    }

    /// @dev Mines past the job's voting window and, below the final round, its appeal window: `finalize` may
    /// settle it.
    function _closeWindow(Job memory job) internal {
        uint256 last = _settleBlock(job);
        if (_block() <= last) _mine(last + 1 - _block());
    }

    /// @dev The last block at which `finalize` still waits, once past the seed block: the voting window's end and,
    /// below the final round, the appeal window's.
    function _settleBlock(Job memory job) internal pure returns (uint256 last) {
        last = _lastVoteBlock(job);
        if (job.spec.mode != VerificationMode.None && job.state.round < FINAL_ROUND) last += job.spec.verifyBlocks;
    }

    /// @dev Mines past the job's voting window only: the round's decision may be appealed.
    function _openAppeal(Job memory job) internal {
        uint256 last = _lastVoteBlock(job);
        if (_block() <= last) _mine(last + 1 - _block());
    }

    /// @dev How many seats of the job's current round `who` holds.
    function _seatsHeldBy(uint256 jobId, Job memory job, address who) internal view returns (uint256 count) {
        address[] memory holders = _committee(jobId, job);
        for (uint256 seat; seat < holders.length; ++seat) {
            if (holders[seat] == who) ++count;
        }
    }

    /// @dev Ballots for the job's current round: `who`'s seats reject, every other seat approves.
    function _rejectsBy(uint256 jobId, Job memory job, address who) internal view returns (Ballot[] memory ballots) {
        address[] memory holders = _committee(jobId, job);
        ballots = new Ballot[](holders.length);
        for (uint256 seat; seat < holders.length; ++seat) {
            ballots[seat] = holders[seat] == who ? Ballot.Reject : Ballot.Approve;
        }
    }

    /// @dev A seat's bond in a round of `seats` seats: `max(validatorSlash, budget / ((seats + 1) / 2))`.
    function _seatBondOf(JobSpec memory spec, uint256 seats) internal pure returns (uint256) {
        uint256 scaled = uint256(spec.budget) / ((seats + 1) / 2);
        return scaled > VALIDATOR_SLASH ? scaled : VALIDATOR_SLASH;
    }

    /// @dev The job as clients rebuild it from the `JobAppealed` just mined, with the new round's seed block mined.
    function _afterAppeal(Job memory job) internal returns (Job memory) {
        job.state.round += 1;
        job.state.submitBlock = uint64(_block());
        job.state.rosterRoot = market.rosterRoot();
        _mine(2);
        return job;
    }

    /// @dev Seats in the job's current round.
    function _roundSeats(Job memory job) internal pure returns (uint256) {
        if (job.state.round == 0) return job.spec.committeeSize;
        return job.state.round == 1 ? ROUND_1_SEATS : ROUND_2_SEATS;
    }

    /// @dev The roster leaf whose weight interval holds `position` (walking down the stored tree).
    function _leafAt(uint256 position) internal view returns (uint256) {
        uint256 node = 1;
        for (uint256 level; level < ROSTER_DEPTH; ++level) {
            uint256 left = Roster.sumOf(market.rosterNode(node * 2));
            if (position < left) {
                node = node * 2;
            } else {
                position -= left;
                node = node * 2 + 1;
            }
        }
        return node - Roster.CAPACITY;
    }

    function _holderOfLeaf(uint256 leaf) internal view returns (address) {
        for (uint256 i; i < knownValidators.length; ++i) {
            (bool live, uint256 index) = market.rosterLeafOf(knownValidators[i]);
            if (live && index == leaf) return knownValidators[i];
        }
        revert("no known validator holds that leaf");
    }

    function _ballots(Ballot a) internal pure returns (Ballot[] memory list) {
        list = new Ballot[](1);
        list[0] = a;
    }

    function _ballots(Ballot a, Ballot b, Ballot c) internal pure returns (Ballot[] memory list) {
        list = new Ballot[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _ballots(Ballot fill, uint256 count) internal pure returns (Ballot[] memory list) {
        list = new Ballot[](count);
        for (uint256 i; i < count; ++i) {
            list[i] = fill;
        }
    }

    /// @dev Tokens the market must hold for one live job: its escrow (fees are paid only at finalize).
    function _escrowLeft(uint256, Job memory job) internal view returns (uint256) {
        return _escrowOf(job.spec);
    }

    /// @dev Seconds since the epoch, read through the cheatcode (see `Vm.getBlockTimestamp`).
    function _now() internal view returns (uint256) {
        return vm.getBlockTimestamp();
    }

    /// @dev The current block number, read through the cheatcode.
    function _block() internal view returns (uint256) {
        return vm.getBlockNumber();
    }

    /// @dev Advances `seconds_` without mining.
    function _wait(uint256 seconds_) internal {
        vm.warp(vm.getBlockTimestamp() + seconds_);
    }

    /// @dev Advances `blocks` blocks (12 s each), giving each new past block a hash.
    function _mine(uint256 blocks) internal {
        for (uint256 i; i < blocks; ++i) {
            uint256 number = vm.getBlockNumber();
            vm.setBlockhash(number, keccak256(abi.encode("block", number)));
            vm.roll(number + 1);
            vm.warp(vm.getBlockTimestamp() + 12);
        }
    }

    function _reopened(Job memory job) internal pure returns (Job memory) {
        job.state = JobState({
            provider: address(0),
            deadline: 0,
            submitBlock: 0,
            rosterRoot: bytes32(0),
            attempts: job.state.attempts + 1,
            resultHash: bytes32(0),
            round: 0
        });
        return job;
    }
}
