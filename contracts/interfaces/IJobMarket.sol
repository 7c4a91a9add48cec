// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {
    Capability, Evidence, Job, JobSpec, JobSpecField, JobStatus, Outcome, ReleaseReason, VoteReason
} from "../market/Types.sol";
import {SeatVote} from "../market/Votes.sol";

/// @title The job state machine and its escrow
/// @notice The market stores one word per live job: bits 255..24 hold the upper 232 bits of
/// `keccak256(abi.encode(job))`, bits 23..16 the committee slots that voted accept, bits 15..8 the slots that
/// voted, bits 7..0 the `JobStatus`. Every call that acts on a job takes the whole `Job` as calldata (rebuilt
/// by clients from the events) and is refused with `JobDataMismatch` if it does not hash to the stored word.
///
/// Life of a job: `Open --claimJob--> Claimed --submitResult--> Submitted --finalize--> closed`, or
/// `Open --cancelJob--> closed`, or `Claimed --expireJob--> closed`; a rejected or expired job with
/// `reopenOnFailure` goes back to `Open` while `attempts < 3`.
///
/// Escrow: at post the requester pays `budget + committeeSize * validatorFee`. A vote credits `validatorFee`
/// to the voter at once; whatever is left is paid out when the job closes.
interface IJobMarket {
    // ------------------------------------------------------------------ events

    /// @notice A job was posted and its escrow funded.
    /// @param jobId The new job's id.
    /// @param requester Who posted and paid.
    /// @param spec The spec as stored: `requester` and `reward` filled in by the contract.
    event JobPosted(uint256 indexed jobId, address indexed requester, JobSpec spec);

    /// @notice The requester cancelled an open job; its escrow was transferred back at once.
    /// @param jobId The job.
    /// @param refund Tokens transferred to the requester.
    event JobCancelled(uint256 indexed jobId, uint256 refund);

    /// @notice A provider claimed an open job; `spec.collateral` of its stake is locked.
    /// @param jobId The job.
    /// @param provider The provider (`state.provider`).
    /// @param deadline `state.deadline`: the last second at which it may submit.
    event JobClaimed(uint256 indexed jobId, address indexed provider, uint64 deadline);

    /// @notice The provider submitted its result; `state.submitBlock` is this event's block number.
    /// @param jobId The job.
    /// @param provider The provider.
    /// @param resultDigest sha2-256 digest of the result's CID.
    /// @param resultCodec Multicodec of the result's CID.
    /// @param checkpointRoot Merkle root of the checkpoint digests.
    /// @param checkpointCount Number of checkpoints under the root.
    /// @param rosterRoot `state.rosterRoot`: the validator roster the committee is drawn from (zero in mode None).
    event ResultSubmitted(
        uint256 indexed jobId,
        address indexed provider,
        bytes32 resultDigest,
        uint8 resultCodec,
        bytes32 checkpointRoot,
        uint32 checkpointCount,
        bytes32 rosterRoot
    );

    /// @notice A committee seat's signed vote was revealed by `finalize` or `appeal` (a round's votes are revealed
    /// together; they belong to the job's round at the time of the event).
    /// @param jobId The job.
    /// @param validator The seat's holder.
    /// @param slot The seat.
    /// @param approve Whether it accepted the result.
    /// @param evidence The sample it re-ran and the digests it compared.
    event VoteCast(uint256 indexed jobId, address indexed validator, uint8 slot, bool approve, Evidence evidence);

    /// @notice Protocol fees of accepted jobs, set aside since the last burn, were burned (`burnFees`).
    /// @param amount Tokens burned.
    event FeesBurned(uint256 amount);

    /// @notice A seat's signed vote was revealed but not counted: its holder's free stake could not lock the
    /// seat's `bond` (it backs other seats, or is unbonding). The seat keeps a majority from forming, like a silent
    /// one, and its holder neither earns nor loses.
    /// @param jobId The job.
    /// @param validator The seat's holder.
    /// @param slot The seat.
    /// @param bond The seat's bond in its round.
    event SeatUnbacked(uint256 indexed jobId, address indexed validator, uint8 slot, uint96 bond);

    /// @notice A round's decision was appealed: a fresh, larger committee (round `round`) is drawn from
    /// `rosterRoot` with the next block's hash as seed; `state.submitBlock` is this event's block number.
    /// @param jobId The job.
    /// @param round `state.round` after the appeal (1 or 2).
    /// @param appellant Who appealed and paid the bond.
    /// @param bond Tokens the appellant put up: returned if the final round overturns what it appealed, else
    /// shared by the seats that decided against it.
    /// @param rosterRoot `state.rosterRoot` for the new round.
    event JobAppealed(uint256 indexed jobId, uint8 round, address indexed appellant, uint96 bond, bytes32 rosterRoot);

    /// @notice A submitted job was decided.
    /// @param jobId The job.
    /// @param outcome Accepted, Rejected or Unverified.
    /// @param accepts Votes to accept.
    /// @param rejects Votes to reject.
    event JobFinalized(uint256 indexed jobId, Outcome outcome, uint8 accepts, uint8 rejects);

    /// @notice The provider of an accepted job was credited its payment and owed its reward.
    /// @param jobId The job.
    /// @param provider The provider.
    /// @param payment `spec.budget`, credited to its balance.
    /// @param reward `spec.reward`, added to its owed rewards (minted on `withdraw`).
    event ProviderPaid(uint256 indexed jobId, address indexed provider, uint96 payment, uint96 reward);

    /// @notice An accepted job's reward did not fit in the current epoch's cap: only `paid` was owed to the
    /// provider; the rest returned to `rewardsRemaining`.
    /// @param jobId The job.
    /// @param reward `spec.reward`, what the job reserved.
    /// @param paid What the epoch's cap still allowed (also reported by `ProviderPaid`).
    /// @param epoch The epoch, `block.timestamp / config().epochLength` (its lowest 24 bits).
    event RewardCapped(uint256 indexed jobId, uint96 reward, uint96 paid, uint256 epoch);

    /// @notice A claimed job passed its deadline without a result; the provider's collateral was slashed.
    /// @param jobId The job.
    /// @param provider The provider that let it expire.
    /// @param slashed Collateral taken (`spec.collateral`).
    event JobExpired(uint256 indexed jobId, address indexed provider, uint96 slashed);

    /// @notice A rejected or expired job went back to `Open` with a fresh `JobState` (only `attempts` kept).
    /// @param jobId The job.
    /// @param attempts `state.attempts` after the increment.
    event JobReopened(uint256 indexed jobId, uint16 attempts);

    /// @notice A confidential job's claimant gave its claim back before its deadline (`releaseClaim`).
    /// @param jobId The job.
    /// @param provider The claimant.
    /// @param reason `KeyNotReleased`: no key was recorded, the collateral was unlocked and the job reopened as it
    /// was; `KeyRefused`: a key was recorded, the collateral was slashed and set aside to be burned, and the job
    /// reopened (`JobReopened` follows) or closed with a refund to the requester, as a failed job does.
    /// @param burned Collateral set aside to be burned (0 for `KeyNotReleased`).
    event ClaimReleased(uint256 indexed jobId, address indexed provider, ReleaseReason reason, uint96 burned);

    // ------------------------------------------------------------------ errors

    /// @notice The call is only for a confidential job (`spec.resultKey != 0`).
    /// @param jobId The job.
    error NotConfidential(uint256 jobId);

    /// @notice The job's current round can no longer be appealed (it is the final round, or the job has no committee).
    error NoFurtherAppeal(uint256 jobId);

    /// @notice An appeal came outside its window, the blocks `fromBlock..untilBlock` after the round's votes closed.
    error AppealNotOpen(uint256 jobId, uint256 fromBlock, uint256 untilBlock);

    /// @notice Only the requester, the provider or a seat whose vote lost the round may appeal it.
    error NotEntitledToAppeal(uint256 jobId, address caller);

    /// @notice A `JobSpec` field is out of range. `limit` is the bound it crossed: the minimum for a value too
    /// small, the maximum for a value too large.
    /// @param field The field.
    /// @param value What was given.
    /// @param limit The bound.
    error InvalidJobSpec(JobSpecField field, uint256 value, uint256 limit);

    /// @notice A `JobSpec` field does not fit its type (the calldata is not a canonical ABI encoding).
    error JobSpecNotCanonical();

    /// @notice The job is not in the status the call needs.
    /// @param jobId The job.
    /// @param actual Its status (`Closed` once its word is deleted, `None` if it never existed).
    /// @param expected The status the call needs.
    error JobNotInStatus(uint256 jobId, JobStatus actual, JobStatus expected);

    /// @notice The `Job` passed does not hash to the stored word.
    /// @param jobId The job.
    error JobDataMismatch(uint256 jobId);

    /// @notice Only the requester may do this.
    /// @param jobId The job.
    /// @param caller Who called.
    /// @param requester The job's requester.
    error NotJobRequester(uint256 jobId, address caller, address requester);

    /// @notice Only the job's provider may do this.
    /// @param jobId The job.
    /// @param caller Who called.
    /// @param provider The job's provider.
    error NotJobProvider(uint256 jobId, address caller, address provider);

    /// @notice A requester may not claim its own job (it would pay itself and be minted the reward).
    /// @param jobId The job.
    /// @param requester The requester.
    error RequesterCannotClaim(uint256 jobId, address requester);

    /// @notice The provider offers less than the job's minimum for one capability.
    /// @param jobId The job.
    /// @param provider The provider.
    /// @param capability The capability.
    /// @param required The job's minimum.
    /// @param offered The provider's registered value.
    error ProviderLacksCapability(
        uint256 jobId, address provider, Capability capability, uint256 required, uint256 offered
    );

    /// @notice The submit deadline has passed.
    /// @param jobId The job.
    /// @param deadline The last second a result was accepted.
    error SubmitDeadlinePassed(uint256 jobId, uint64 deadline);

    /// @notice The job cannot expire before its deadline.
    /// @param jobId The job.
    /// @param deadline The deadline; `expireJob` works once `block.timestamp > deadline`.
    error DeadlineNotReached(uint256 jobId, uint64 deadline);

    /// @notice A result needs a nonzero result digest.
    /// @param jobId The job.
    error EmptyResult(uint256 jobId);

    /// @notice `finalize` was given a different number of seats than the committee has.
    /// @param jobId The job.
    /// @param given Seats given.
    /// @param expected The committee's size (0 when no seat can be drawn: no roster, or the seed is gone).
    error SeatCountMismatch(uint256 jobId, uint256 given, uint256 expected);

    /// @notice The seat's proof does not show that `validator` holds it under the job's roster snapshot and seed.
    /// @param jobId The job.
    /// @param seat The seat.
    /// @param validator The claimed holder.
    error NotSeatHolder(uint256 jobId, uint256 seat, address validator);

    /// @notice A vote's signature is not the seat holder's signature of that vote.
    /// @param jobId The job.
    /// @param seat The seat.
    error InvalidVoteSignature(uint256 jobId, uint256 seat);

    /// @notice A vote that names a finding against the provider (any `VoteReason` but `Recomputed`) must reject.
    /// @param jobId The job.
    /// @param reason The reason given with an accepting vote.
    error VoteReasonNeedsRejection(uint256 jobId, VoteReason reason);

    /// @notice The voting window is still open and some seat has not voted yet (votes are revealed together).
    /// @param jobId The job.
    /// @param untilBlock The window's last block; `finalize` works from the block after.
    error VerificationPending(uint256 jobId, uint256 untilBlock);

    /// @notice The seed's block hash cannot be read: the seed block (`submitBlock + 1`) is not yet sealed, or it
    /// is older than the chain keeps hashes for (256 blocks, 8191 with EIP-2935).
    /// @param jobId The job.
    /// @param seedBlock The block whose hash is the seed's source.
    error SeedUnavailable(uint256 jobId, uint64 seedBlock);

    // ------------------------------------------------------------------ requester

    /// @notice Posts a job and pulls `budget + protocolFee + committeeSize * validatorFee` (the escrow) from the
    /// caller's allowance to the market.
    /// @dev Emits `JobPosted`. The contract sets `spec.requester = msg.sender`,
    /// `spec.protocolFee = ceil(budget * feeBps / 10_000)` and
    /// `spec.reward = min(floor(budget * rewardBps / 10_000), rewardsRemaining())` (0 in mode `None`: only work a
    /// committee verified earns a reward), reserving the reward from the emission budget. Since
    /// `rewardBps < feeBps` (or `rewardBps == 0`), `reward < protocolFee` for every budget. Refused while the
    /// market is paused (`MarketPaused`, see `IGoverned`). Requirements (`InvalidJobSpec` otherwise): `budget > 0`;
    /// `bundleDigest != 0`;
    /// `runTimeout > 0`; `committeeSize <= 8`, and `>= 1` unless `mode` is `None`; `samplesPerValidator >= 1`
    /// in modes `Segments` and `Shards`; `1 <= verifyBlocks <= 240`;
    /// `collateral >= max(committeeSize * validatorFee, budget * minCollateralBps / 10_000)`. The caller allowed the market at least the escrow (the token's
    /// `ERC20InsufficientAllowance` otherwise) and holds it (`ERC20InsufficientBalance`).
    /// @param spec The job; `requester`, `reward` and `protocolFee` are ignored and overwritten.
    /// @return jobId The new job's id (ids start at 1).
    function postJob(JobSpec calldata spec) external returns (uint256 jobId);

    /// @notice `postJob`, first applying the caller's EIP-2612 permit for the market to take exactly the escrow,
    /// `budget + protocolFee + committeeSize * validatorFee` (approve and post in one transaction).
    /// @dev A permit that fails (someone already submitted it, it expired, it was signed for another amount) is
    /// ignored: the post then goes through if the allowance already covers the escrow, and otherwise reverts with
    /// the token's `ERC20InsufficientAllowance`. A permit sets the allowance to the escrow (EIP-2612), replacing any
    /// standing one; clients with a standing allowance that covers the escrow call `postJob` instead.
    /// @param spec As for `postJob`.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's recovery id.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    /// @return jobId The new job's id.
    function postJobWithPermit(JobSpec calldata spec, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 jobId);

    /// @notice Cancels an open job and transfers its escrow back to the requester at once.
    /// @dev Emits `JobCancelled`. The whole escrow (protocol fee included) is refunded; the reserved reward
    /// returns to `rewardsRemaining`. Requirements: status
    /// `Open`, caller is `spec.requester` (`NotJobRequester`).
    function cancelJob(uint256 jobId, Job calldata job) external;

    // ------------------------------------------------------------------ provider

    /// @notice Claims an open job, locking `spec.collateral` of the caller's stake until the job closes.
    /// @dev Emits `JobClaimed`. Refused while the market is paused (`MarketPaused`). Requirements: status
    /// `Open`; the caller is a registered provider
    /// (`AccountNotInRole`) other than the requester (`RequesterCannotClaim`); each capability at least the
    /// job's minimum (`ProviderLacksCapability`); stake at least `config().minProviderStake`
    /// (`StakeBelowMinimum`); free stake at least `spec.collateral` (`InsufficientFreeStake`).
    function claimJob(uint256 jobId, Job calldata job) external;

    /// @notice Submits the result of a claimed job; the next block's hash becomes the committee seed.
    /// @dev Emits `ResultSubmitted`. Sets `submitBlock`, `rosterRoot` (the roster now; zero in mode None) and
    /// `resultHash = keccak256(abi.encode(resultDigest, resultCodec, checkpointRoot, checkpointCount))`.
    /// Requirements: status `Claimed`; caller is `state.provider` (`NotJobProvider`);
    /// `block.timestamp <= state.deadline` (`SubmitDeadlinePassed`); `resultDigest != 0` (`EmptyResult`).
    function submitResult(
        uint256 jobId,
        Job calldata job,
        bytes32 resultDigest,
        uint8 resultCodec,
        bytes32 checkpointRoot,
        uint32 checkpointCount
    ) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Decides a submitted job from its current round's signed votes, revealed together, and settles it.
    /// @dev `seats[j]` is seat `j` of round `state.round`: its holder proven against `state.rosterRoot` (the leaf,
    /// the holder's weight and the leaf's siblings; the seat's position `keccak256(abi.encode(seed, j)) %
    /// totalWeight` must fall in the holder's weight interval), its ballot, and unless silent the holder's EIP-712
    /// signature of `Vote(jobId, round, resultHash, seat, approve, evidence)` (`voteDigest`). Round 0 has
    /// `committeeSize` seats, round 1 `ROUND_1_SEATS`, round 2 `ROUND_2_SEATS`. Seats held by the requester are set
    /// aside: they never vote, earn or lose, and the other seats decide. Emits `VoteCast` per vote and
    /// `JobFinalized`, then:
    /// - Accepted (approvals are a strict majority of the deciding seats; in mode `None`, always; and when every seat
    ///   is the requester's): `ProviderPaid`; the collateral is unlocked; the protocol fee is set aside for `burnFees`; fees of seats
    ///   not paid go back to the requester. The reward is owed only when a majority of the deciding seats approved,
    ///   and only up to what is left of the epoch's `epochRewardCap` (`RewardCapped` when less); whatever is not
    ///   owed returns to `rewardsRemaining`.
    /// - Rejected (rejections are a strict majority): `StakeSlashed` for the whole collateral; the job reopens
    ///   (`reopenOnFailure`, `attempts < 3`; the collateral first restores the fees paid) or the requester is
    ///   credited the remaining escrow (protocol fee included) plus the collateral.
    /// - Unverified (no majority, no roster, or the seed is gone): nobody's collateral is slashed; the requester
    ///   is credited the escrow (protocol fee included) less the fees paid.
    /// Seats of every round are settled against this final outcome: a seat that voted with it (every voter when
    /// Unverified) earns `validatorFee` (round 0 from the escrow, appeal rounds from the pool below); every other
    /// seat (silent, or on the losing side) loses its bond `max(validatorSlash, budget / ((n + 1) / 2))` for its
    /// round's `n` seats (stake first, then unbonding). The pool of lost bonds, plus the bonds of appellants whose
    /// appeal the final outcome did not bear out, first returns the other appellants' bonds, then pays the appeal
    /// rounds' fees, and is shared equally among the winning seats (dust to the first; to the provider when nobody
    /// voted). Nothing beyond the pool is paid: the losing side pays for the appeals up to what it forfeits.
    /// Requirements: status `Submitted`; after the round's window and, below the final round, its appeal window
    /// (`block.number > submitBlock + 1 + 2 * verifyBlocks`; in the final round `submitBlock + 1 + verifyBlocks`, or
    /// earlier once every seat voted; below the final round, earlier when the requester sends it and every deciding
    /// seat approved: it waives its own appeal, the only one left) (`VerificationPending`); one entry per seat (`SeatCountMismatch`), each
    /// proven (`NotSeatHolder`) and validly signed (`InvalidVoteSignature`), an approval carrying no finding
    /// (`VoteReasonNeedsRejection`: a withheld result, a bad commitment or a false capability claim must reject);
    /// mode `None`: no seats.
    function finalize(uint256 jobId, Job calldata job, SeatVote[] calldata seats) external;

    /// @notice Appeals the current round's decision: its votes are revealed (as for `finalize`) and a fresh, larger
    /// committee is drawn for round `state.round + 1` from the roster as it stands now, seeded by the next block.
    /// @dev Emits `VoteCast` per vote of the appealed round and `JobAppealed`; pulls the bond from the caller (an
    /// allowance or a permit beforehand): `max(validatorSlash, seats of the next round * validatorFee)`. The round's
    /// seats are settled only with the final round (see `finalize`).
    /// Requirements: status `Submitted`; mode not `None` and `state.round < FINAL_ROUND` (`NoFurtherAppeal`); in the
    /// appeal window, the `verifyBlocks` blocks after the round's window (`AppealNotOpen`); the caller is the
    /// requester, the provider, or the holder of a seat whose vote lost the round (every voter when the round
    /// decided nothing) (`NotEntitledToAppeal`); the seats as for `finalize`. Never paused: appeals settle running
    /// jobs.
    function appeal(uint256 jobId, Job calldata job, SeatVote[] calldata seats) external;

    /// @notice Expires a claimed job whose deadline passed: the provider's collateral is slashed. Anyone may call it
    /// (a keeper, the requester, a rival provider), so no claim holds a job past its deadline.
    /// @dev Emits `StakeSlashed`, `JobExpired`, then either `JobReopened` (with `reopenOnFailure` and
    /// `attempts < 3`; the collateral is credited to the requester) or `BalanceCredited` to the
    /// requester for the escrow plus the collateral (the reward returns to `rewardsRemaining`).
    /// Requirements: status `Claimed`; `block.timestamp > state.deadline` (`DeadlineNotReached`).
    function expireJob(uint256 jobId, Job calldata job) external;

    /// @notice The claimant of a confidential job gives its claim back before the deadline (docs/confidential.md).
    /// Free when `KeyRelease` recorded no key for this claim (the collateral unlocks; the job reopens with its
    /// state reset and `attempts` unchanged). When a key was recorded, the whole collateral is slashed and set
    /// aside to be burned (`feesToBurn`), never paid to the requester, and the job reopens or closes as an
    /// expired one does, with no compensation.
    /// @dev Emits `ClaimReleased`, then `JobReopened` when a `KeyRefused` release reopens the job.
    /// Requirements: the job is `Claimed` and matches its word; the caller is its provider (`NotJobProvider`);
    /// it is confidential (`NotConfidential`); the deadline has not passed (`SubmitDeadlinePassed`: use
    /// `expireJob`).
    /// @param jobId The job.
    /// @param job The job as stored.
    function releaseClaim(uint256 jobId, Job calldata job) external;

    /// @notice The `KeyRelease` contract this market deployed (sealed keys and the key window).
    function keyRelease() external view returns (address);

    // ------------------------------------------------------------------ views

    /// @notice The stored word of a live job (zero once closed).
    function jobWord(uint256 jobId) external view returns (bytes32);

    /// @notice The job's status: from its word, `Closed` for a past id with no word, `None` otherwise.
    function statusOf(uint256 jobId) external view returns (JobStatus);

    /// @notice The id the next post gets (ids start at 1).
    function nextJobId() external view returns (uint256);

    /// @notice Protocol fees of accepted jobs set aside and not yet burned: they belong to nobody and can only be
    /// burned.
    function feesToBurn() external view returns (uint256);

    /// @notice Burns every protocol fee set aside by accepted jobs (anyone may call it; one token call for many
    /// jobs). Never paused. Emits `FeesBurned` unless there is nothing to burn.
    /// @return amount Tokens burned (0 when nothing was set aside).
    function burnFees() external returns (uint256 amount);

    /// @notice Reward tokens still available to reserve (the emission budget `cap - initialSupply`, less
    /// rewards reserved by live jobs or owed or minted).
    function rewardsRemaining() external view returns (uint256);

    /// @notice The current reward epoch (`block.timestamp / config().epochLength`, lowest 24 bits) as last
    /// recorded, and the rewards owed to providers in it so far (at most `config().epochRewardCap`).
    /// @return epoch The epoch of the last rewarded acceptance.
    /// @return rewarded Rewards owed in that epoch.
    function epochRewards() external view returns (uint256 epoch, uint256 rewarded);

    /// @notice `keccak256(abi.encode(job))`; the stored word keeps its upper 232 bits.
    function hashJob(Job calldata job) external pure returns (bytes32);

    /// @notice `keccak256(abi.encode(blockhash(submitBlock + 1), jobId))`, the committee and sampling seed.
    /// @dev Requirements: status `Submitted`, `job` matches, the seed readable (`SeedUnavailable`).
    function seedOf(uint256 jobId, Job calldata job) external view returns (bytes32);

    /// @notice The EIP-712 digest a seat signs to vote (domain "CrowdMarket", version "2", this market).
    function voteDigest(
        uint256 jobId,
        uint8 round,
        bytes32 resultHash,
        uint8 seat,
        bool approve,
        Evidence calldata evidence
    ) external view returns (bytes32);
}
