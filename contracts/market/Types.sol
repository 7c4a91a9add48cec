// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// The job layout's constants. Clients read them from the generated views (`make setup`), never retype them.

/// @dev Most seats a committee can have (odd sizes only, so a majority always exists).
uint256 constant MAX_COMMITTEE_SIZE = 15;

/// @dev Longest voting window. A round's votes are checked against its seed block's hash, which `BLOCKHASH` returns
/// for 256 blocks: the window, then an appeal window as long, leave at least 55 blocks to settle in.
uint256 constant MAX_VERIFY_BLOCKS = 100;

/// @dev Appeals: the last round a job can reach (round 0 is the committee the requester asked for), and the
/// seats of each appeal round. A stake share `p` wins a majority of `n` seats drawn with replacement with
/// probability `P(Bin(n, p) > n / 2)`; for `p = 1/3` that is below 10^-6 at 193 seats (docs/protocol.md).
uint8 constant FINAL_ROUND = 2;
uint256 constant ROUND_1_SEATS = 31;
uint256 constant ROUND_2_SEATS = 193;

/// @dev How many times a failed job may reopen (`JobState.attempts` counts reopenings).
uint16 constant MAX_REOPENS = 3;

/// @dev Levels of the validator roster's Merkle-sum tree (`Roster.sol`): at most 2^ROSTER_DEPTH live validators,
/// and every committee seat is proven with this many sibling words.
uint256 constant ROSTER_DEPTH = 10;

/// @dev Where a live job's storage word keeps its parts: the status in the lowest byte, and the upper bits of
/// the job's hash from `JOB_WORD_HASH_SHIFT` up (the bits between are zero).
uint256 constant JOB_WORD_STATUS_SHIFT = 0;
uint256 constant JOB_WORD_HASH_SHIFT = 24;

/// @notice Where a job stands. Terminal outcomes (accepted, rejected, cancelled, expired) are events;
/// a job whose word was deleted reads as `Closed`.
enum JobStatus {
    None,
    Open,
    Claimed,
    Submitted,
    Closed
}

/// @notice How a result is checked: optimistically, by re-running sampled segments or shards, or by replication.
enum VerificationMode {
    None,
    Segments,
    Shards,
    Replicate
}

/// @notice How `finalize` closed a submitted job.
enum Outcome {
    Accepted,
    Rejected,
    Unverified
}

/// @notice A minimum capability a job asks of its provider (named in `ProviderLacksCapability`).
enum Capability {
    GpuCount,
    GpuMemory,
    GpuClass,
    CpuCores,
    Memory
}

/// @notice Why a validator voted as it did (in `Evidence`). Every reason but `Recomputed` is a finding against the
/// provider: a vote carrying one must reject (`VoteReasonNeedsRejection`), so it counts against the provider like
/// any rejection, and a rejected job slashes the provider's collateral.
enum VoteReason {
    Recomputed, // the sample was re-run and its digest compared with the committed one (accept or reject)
    ResultWithheld, // the provider's result could not be fetched
    BadCommitment, // the result's checkpoints do not hash to the committed root
    ExceedsDeclaredResources, // the job could not run in the resources the provider declared (a false capability)
    KeyWithheld // a confidential job's provider sealed no key to the seat, or one that does not open (docs/confidential.md)
}

/// @notice Why a confidential job's claimant gave its claim back (`releaseClaim`, docs/confidential.md).
enum ReleaseReason {
    KeyNotReleased, // no key was recorded for the claim (the requester's key agent was offline): free
    KeyRefused // a key was recorded but the provider says it does not open the bundle: the collateral is burned
}

/// @notice The single role an account registers for; roles are exclusive and permanent.
enum Role {
    None,
    Provider,
    Validator
}

/// @notice The `JobSpec` field a rejected post got wrong (named in `InvalidJobSpec`).
enum JobSpecField {
    Budget,
    BundleDigest,
    Collateral,
    RunTimeout,
    CommitteeSize,
    SamplesPerValidator,
    VerifyBlocks
}

/// @notice What a requester fixes at post. Field order is the ABI order every client encodes.
struct JobSpec {
    address requester; // set by the contract to msg.sender
    uint96 budget; // paid to the provider on acceptance
    bytes32 bundleDigest; // sha2-256 digest of the bundle's CID
    uint8 bundleCodec; // multicodec of the bundle's CID (0x55 raw, 0x70 dag-pb)
    uint8 gpuCount; // minimum capabilities the provider must offer, from here to memoryMiB
    uint32 gpuMemoryMiB; // per GPU
    uint8 gpuClass; // 0..255, higher is newer
    uint16 cpuCores;
    uint32 memoryMiB;
    uint96 collateral; // provider stake locked while it holds the job; >= committee fees and the minimum ratio
    uint32 runTimeout; // seconds from claim to the submit deadline
    VerificationMode mode; // how the result is checked (see VerificationMode)
    uint8 committeeSize; // seats drawn by stake (odd, <= MAX_COMMITTEE_SIZE; 0 in mode None)
    uint8 samplesPerValidator; // segments or shards each validator re-runs (off-chain, but committed)
    uint16 verifyBlocks; // voting window after the seed block, submitBlock + 1 (1..MAX_VERIFY_BLOCKS)
    uint96 validatorFee; // paid to each committee member who votes
    uint96 reward; // set by the contract: budget * rewardBps / 10_000 rounded down, 0 in mode None
    uint96 protocolFee; // set by the contract: budget * feeBps / 10_000 rounded up, escrowed, burned on acceptance
    bool reopenOnFailure; // on rejection or expiry, reopen (up to MAX_REOPENS times) instead of refunding
    bytes32 resultKey; // the requester's X25519 public key for sealed results; nonzero makes the job confidential (docs/confidential.md)
}

/// @notice What changes as a job moves through its states.
struct JobState {
    address provider; // claim
    uint64 deadline; // claim: block.timestamp + runTimeout
    uint64 submitBlock; // submit: block.number; appeal: block.number (the new round's seed is the next block)
    bytes32 rosterRoot; // submit, appeal: the validator roster's root (`Roster.sol`) the committee is drawn from
    uint16 attempts; // reopen: +1
    bytes32 resultHash; // submit: keccak256(abi.encode(resultDigest, resultCodec, checkpointRoot, checkpointCount))
    uint8 round; // appeal: +1 (0 is the requester's committee; at most FINAL_ROUND)
}

/// @notice A job as every call that acts on it passes it; checked against the stored word.
struct Job {
    JobSpec spec;
    JobState state;
}

/// @notice What a provider offers; a job's minimums are compared field by field at claim.
struct Capabilities {
    uint8 gpuCount; // minimum capabilities the provider must offer, from here to memoryMiB
    uint32 gpuMemoryMiB; // per GPU
    uint8 gpuClass; // 0..255, higher is newer
    uint16 cpuCores;
    uint32 memoryMiB;
    uint96 pricePerHour;
}

/// @notice What a validator reports with its vote (signed with it; in `VoteCast`).
struct Evidence {
    uint32 segment;
    bytes32 committedDigest;
    bytes32 recomputedDigest;
    VoteReason reason;
}

/// @notice An account as `accountOf` reports it (a view; storage is packed differently).
struct Account {
    Role role;
    uint96 stake;
    uint96 locked;
    uint96 unbonding;
    uint64 unbondingReleaseAt;
    uint128 balance;
    uint128 rewardOwed;
}

/// @notice The market's parameters: set at deploy, changed only by its governor (`setConfig`). Fields are read
/// where `IGoverned.setConfig` says; new fields go at the end.
struct MarketConfig {
    uint64 unbondingDelay; // seconds between requestUnbond and withdrawUnbonded
    uint96 minProviderStake; // stake a provider needs to claim
    uint96 minValidatorStake; // stake a validator needs to register and to vote
    uint96 validatorSlash; // taken from each voter on the losing side of a decided job
    uint16 rewardBps; // reward for committee-verified work, in basis points of the budget; < feeBps unless 0
    uint16 feeBps; // protocol fee escrowed at post and burned on acceptance, in basis points of the budget
    uint16 minCollateralBps; // least collateral a job may ask for, in basis points of its budget
    uint64 epochLength; // seconds per reward epoch (> 0)
    uint96 epochRewardCap; // most reward tokens owed to providers per epoch
}
