// Rebuild a job's `Job` struct from its events and check it against the stored word, as
// chain/job_store.py does: every call after `postJob` (cancel, finalize, expire) takes the whole struct.
import {
  encodeAbiParameters,
  keccak256,
  numberToHex,
  padHex,
  parseEventLogs,
  type Address,
  type Hex,
  type Log,
  type PublicClient,
} from "viem";
import {
  JOB_STATUS,
  JOB_WORD_HASH_SHIFT,
  JOB_WORD_STATUS_SHIFT,
  ZERO_JOB_STATE,
} from "../generated/jobLayout";
import { OUTCOME, crowdMarketAbi, enumLabel, type Job, type JobState } from "./contracts";

/** The market's events about one job: those whose first argument is an indexed `jobId` (from the ABI). */
export const JOB_EVENTS: readonly string[] = crowdMarketAbi
  .filter((item) => item.type === "event" && item.inputs[0]?.name === "jobId" && item.inputs[0].indexed)
  .map((item) => (item as { name: string }).name);

// The stored word (Types.sol, JOB_WORD_*_SHIFT): each part runs up to where the next one starts.
const HASH_MASK = ((1n << 256n) - 1n) ^ ((1n << BigInt(JOB_WORD_HASH_SHIFT)) - 1n);
const STATUS_MASK = (1n << BigInt(JOB_WORD_HASH_SHIFT - JOB_WORD_STATUS_SHIFT)) - 1n;
export type ChainStatus = (typeof JOB_STATUS)[number];

export const EMPTY_STATE: JobState = ZERO_JOB_STATE;

/** A decoded market event: its name, arguments and block. */
export interface JobEvent {
  eventName: string;
  args: Record<string, unknown>;
  blockNumber: bigint;
  logIndex: number;
}

export interface FoldedJob {
  job: Job | null;
  closedBy: string | null;
  outcome: string | null;
}

const hashJobInput = crowdMarketAbi.find((item) => item.type === "function" && item.name === "hashJob")!.inputs;

/** keccak256(abi.encode(job)), as the contract's `hashJob`. */
export function hashJob(job: Job): Hex {
  return keccak256(encodeAbiParameters(hashJobInput, [job]));
}

/** What `submitResult` stores in `JobState.resultHash`. */
export function resultHash(resultDigest: Hex, resultCodec: number, checkpointRoot: Hex, checkpointCount: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "uint8" }, { type: "bytes32" }, { type: "uint32" }],
      [resultDigest, resultCodec, checkpointRoot, checkpointCount],
    ),
  );
}

/** Fold events (in chain order) into the job they describe. */
export function foldJobEvents(events: JobEvent[]): FoldedJob {
  let folded: FoldedJob = { job: null, closedBy: null, outcome: null };
  const ordered = [...events].sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  );
  for (const event of ordered) {
    const args = event.args;
    const job = folded.job;
    if (event.eventName === "JobPosted") {
      folded = { job: { spec: args.spec as Job["spec"], state: EMPTY_STATE }, closedBy: null, outcome: null };
    } else if (!job) {
      continue;
    } else if (event.eventName === "JobClaimed") {
      const state = { ...job.state, provider: args.provider as Address, deadline: args.deadline as bigint };
      folded = { ...folded, job: { ...job, state } };
    } else if (event.eventName === "ResultSubmitted") {
      const state = {
        ...job.state,
        submitBlock: event.blockNumber,
        rosterRoot: args.rosterRoot as Hex,
        resultHash: resultHash(
          args.resultDigest as Hex,
          Number(args.resultCodec),
          args.checkpointRoot as Hex,
          Number(args.checkpointCount),
        ),
      };
      folded = { ...folded, job: { ...job, state } };
    } else if (event.eventName === "JobAppealed") {
      const state = { ...job.state, round: Number(args.round), submitBlock: event.blockNumber, rosterRoot: args.rosterRoot as Hex };
      folded = { ...folded, job: { ...job, state } };
    } else if (event.eventName === "JobReopened") {
      folded = { job: { ...job, state: { ...EMPTY_STATE, attempts: Number(args.attempts) } }, closedBy: null, outcome: null };
    } else if (event.eventName === "JobFinalized") {
      folded = { ...folded, closedBy: event.eventName, outcome: enumLabel(OUTCOME, args.outcome) };
    } else if (event.eventName === "ClaimReleased") {
      // A confidential job's claim given back: free (KeyNotReleased, reason 0) reopens it as it was; with a key
      // recorded it failed, closed unless a JobReopened follows.
      if (Number(args.reason) === 0) folded = { ...folded, job: { ...job, state: { ...EMPTY_STATE, attempts: job.state.attempts } } };
      else folded = { ...folded, closedBy: event.eventName };
    } else if (event.eventName === "JobCancelled" || event.eventName === "JobExpired") {
      folded = { ...folded, closedBy: event.eventName };
    }
  }
  return folded;
}

/** Whether the stored word describes `folded`: its hash bits match, or it is gone and the job closed. */
export function wordMatches(word: bigint, folded: FoldedJob): boolean {
  if (!folded.job) return false;
  if (word === 0n) return folded.closedBy !== null;
  return folded.closedBy === null && (word & HASH_MASK) === (BigInt(hashJob(folded.job)) & HASH_MASK);
}

export interface ChainJob extends FoldedJob {
  job: Job;
  status: ChainStatus;
  head: bigint;
}

export class JobDataError extends Error {
  override name = "JobDataError";
}

/** The job now, rebuilt from the market's logs at one pinned block and checked against `jobWord`. */
export async function loadChainJob(
  client: PublicClient,
  market: Address,
  jobId: bigint,
  fromBlock: bigint = 0n,
): Promise<ChainJob> {
  const head = await client.getBlockNumber();
  const word = await client.readContract({
    address: market,
    abi: crowdMarketAbi,
    functionName: "jobWord",
    args: [jobId],
    blockNumber: head,
  });
  // Every job event has jobId as its first indexed argument.
  const logs = (await client.request({
    method: "eth_getLogs",
    params: [
      {
        address: market,
        fromBlock: numberToHex(fromBlock),
        toBlock: numberToHex(head),
        topics: [null, padHex(numberToHex(jobId), { size: 32 })],
      },
    ],
  })) as unknown as Log[];
  const parsed = parseEventLogs({ abi: crowdMarketAbi, logs, strict: true });
  const events: JobEvent[] = parsed
    .filter((log) => JOB_EVENTS.includes(log.eventName))
    .map((log) => ({
      eventName: log.eventName,
      args: log.args as Record<string, unknown>,
      blockNumber: BigInt(log.blockNumber ?? 0n),
      logIndex: Number(log.logIndex ?? 0),
    }));
  const folded = foldJobEvents(events);
  if (!folded.job) throw new JobDataError(`job ${jobId} was never posted on this market`);
  const raw = BigInt(word);
  if (!wordMatches(raw, folded)) {
    throw new JobDataError(`job ${jobId}: its events do not match the chain's record; reload in a moment`);
  }
  const status: ChainStatus =
    raw === 0n ? "Closed" : (JOB_STATUS[Number((raw >> BigInt(JOB_WORD_STATUS_SHIFT)) & STATUS_MASK)] ?? "None");
  return { ...folded, job: folded.job, status, head };
}
