import type { Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { Job } from "../src/lib/contracts";
import { EMPTY_STATE, foldJobEvents, hashJob, resultHash, wordMatches, type JobEvent } from "../src/lib/jobData";
import reference from "./fixtures/python_reference.json";

const raw = reference.hashJob.job;
const job: Job = {
  spec: {
    requester: raw.spec.requester as Hex,
    budget: BigInt(raw.spec.budget),
    bundleDigest: raw.spec.bundleDigest as Hex,
    bundleCodec: Number(raw.spec.bundleCodec),
    gpuCount: Number(raw.spec.gpuCount),
    gpuMemoryMiB: Number(raw.spec.gpuMemoryMiB),
    gpuClass: Number(raw.spec.gpuClass),
    cpuCores: Number(raw.spec.cpuCores),
    memoryMiB: Number(raw.spec.memoryMiB),
    collateral: BigInt(raw.spec.collateral),
    runTimeout: Number(raw.spec.runTimeout),
    mode: Number(raw.spec.mode),
    committeeSize: Number(raw.spec.committeeSize),
    samplesPerValidator: Number(raw.spec.samplesPerValidator),
    verifyBlocks: Number(raw.spec.verifyBlocks),
    validatorFee: BigInt(raw.spec.validatorFee),
    reward: BigInt(raw.spec.reward),
    protocolFee: BigInt(raw.spec.protocolFee ?? 0),
    reopenOnFailure: raw.spec.reopenOnFailure,
    resultKey: raw.spec.resultKey as Hex,
  },
  state: {
    provider: raw.state.provider as Hex,
    deadline: BigInt(raw.state.deadline),
    submitBlock: BigInt(raw.state.submitBlock),
    rosterRoot: raw.state.rosterRoot as Hex,
    attempts: Number(raw.state.attempts),
    resultHash: raw.state.resultHash as Hex,
    round: Number(raw.state.round),
  },
};
const result = reference.hashJob.result;

describe("rebuilding a Job from its events", () => {
  it("hashes a job exactly as the contract (and chain/job_store.py) does", () => {
    expect(hashJob(job)).toBe(reference.hashJob.hash);
  });

  it("computes the result hash submitResult stores", () => {
    expect(resultHash(result.digest as Hex, result.codec, result.root as Hex, result.count)).toBe(raw.state.resultHash);
  });

  const events: JobEvent[] = [
    { eventName: "JobPosted", args: { jobId: 1n, spec: job.spec }, blockNumber: 10n, logIndex: 0 },
    { eventName: "JobClaimed", args: { jobId: 1n, provider: job.state.provider, deadline: 1767225600n }, blockNumber: 12n, logIndex: 0 },
    { eventName: "JobExpired", args: { jobId: 1n }, blockNumber: 20n, logIndex: 0 },
    { eventName: "JobReopened", args: { jobId: 1n, attempts: 1 }, blockNumber: 20n, logIndex: 1 },
    { eventName: "JobClaimed", args: { jobId: 1n, provider: job.state.provider, deadline: job.state.deadline }, blockNumber: 30n, logIndex: 0 },
    {
      eventName: "ResultSubmitted",
      args: { jobId: 1n, resultDigest: result.digest, resultCodec: result.codec, checkpointRoot: result.root, checkpointCount: result.count, rosterRoot: raw.state.rosterRoot },
      blockNumber: 42n,
      logIndex: 3,
    },
    { eventName: "VoteCast", args: { jobId: 1n }, blockNumber: 43n, logIndex: 0 },
  ];

  it("folds posted, claimed, expired, reopened, claimed and submitted into the job the chain holds", () => {
    const folded = foldJobEvents([...events].reverse());
    expect(folded.closedBy).toBeNull();
    expect(folded.job).toEqual(job);
    const word = (BigInt(reference.hashJob.hash) & ~0xffffffn) | 0x03n; // Submitted (the word holds no votes)
    expect(wordMatches(word, folded)).toBe(true);
    expect(wordMatches(word ^ (1n << 200n), folded)).toBe(false);
  });

  it("knows a closed job by its events once its word is gone", () => {
    const folded = foldJobEvents([...events, { eventName: "JobFinalized", args: { jobId: 1n, outcome: 0, accepts: 3, rejects: 0 }, blockNumber: 44n, logIndex: 0 }]);
    expect(folded).toMatchObject({ closedBy: "JobFinalized", outcome: "Accepted" });
    expect(wordMatches(0n, folded)).toBe(true);
    expect(wordMatches(0n, foldJobEvents(events))).toBe(false);
  });

  it("starts from an empty state after a reopen", () => {
    const folded = foldJobEvents(events.slice(0, 4));
    expect(folded.job?.state).toEqual({ ...EMPTY_STATE, attempts: 1 });
  });

  const claimed = events.slice(0, 2);
  const released = (reason: number): JobEvent => ({
    eventName: "ClaimReleased",
    args: { jobId: 1n, provider: job.state.provider, reason, burned: 0n },
    blockNumber: 15n,
    logIndex: 0,
  });

  it("reopens a confidential job given back without a key as it was (attempts kept)", () => {
    const folded = foldJobEvents([...claimed, released(0)]);
    expect(folded.closedBy).toBeNull();
    expect(folded.job?.state).toEqual({ ...EMPTY_STATE, attempts: 0 });
  });

  it("closes a confidential job given back after a recorded key unless it reopens", () => {
    expect(foldJobEvents([...claimed, released(1)]).closedBy).toBe("ClaimReleased");
    const reopened = { eventName: "JobReopened", args: { jobId: 1n, attempts: 1 }, blockNumber: 15n, logIndex: 1 };
    const folded = foldJobEvents([...claimed, released(1), reopened]);
    expect(folded.closedBy).toBeNull();
    expect(folded.job?.state).toEqual({ ...EMPTY_STATE, attempts: 1 });
  });
});
