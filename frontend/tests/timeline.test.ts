import { describe, expect, it } from "vitest";
import type { ChainEventPublic } from "../src/lib/api";
import { foldTimeline, timelineSteps, votingWindow, type StepContext } from "../src/lib/timeline";

const ALICE = "0x70997970c51812dc3a010c7d01b54e7ad8f3d0ea";
const BOB = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
let block = 0;
function event(name: string, args: Record<string, unknown> = {}): ChainEventPublic {
  block += 1;
  return { event: name, block_number: block, log_index: 0, tx_hash: `0x${block.toString(16).padStart(64, "0")}`, timestamp: 1_700_000_000 + block, args: { jobId: 1, ...args } };
}
const context: StepContext = { committeeSize: 3, mode: "Segments", verifyBlocks: 20, logsSeen: false };
const ROSTER = `0x${"5a".repeat(32)}`;
const statuses = (events: ChainEventPublic[], ctx: StepContext = context) =>
  Object.fromEntries(timelineSteps(foldTimeline(events), ctx).map((s) => [s.key, s.status]));

describe("the job timeline reducer", () => {
  it("shows an open job waiting for a provider", () => {
    expect(statuses([event("JobPosted", { requester: ALICE })])).toEqual({
      posted: "done",
      claimed: "current",
      running: "pending",
      submitted: "pending",
      verification: "pending",
      outcome: "pending",
    });
  });

  it("follows claim, run, submission, the revealed votes and acceptance", () => {
    const posted = event("JobPosted");
    const claimed = event("JobClaimed", { provider: BOB, deadline: 1_700_001_000 });
    expect(statuses([posted, claimed], { ...context, logsSeen: true })).toMatchObject({ claimed: "done", running: "current" });
    const submitted = event("ResultSubmitted", { provider: BOB, checkpointCount: 250, rosterRoot: ROSTER });
    const signing = foldTimeline([posted, claimed, submitted]);
    expect(signing.submitted?.rosterRoot).toBe(ROSTER);
    expect(timelineSteps(signing, context).find((s) => s.key === "verification")).toMatchObject({
      status: "current",
      detail: `3 seats sign their votes privately; all are revealed together at finalize (window ends at block ${submitted.block_number + 1 + 20})`,
    });
    // finalize reveals every vote and decides, in one transaction
    const votes = [event("VoteCast", { validator: ALICE, slot: 0, approve: true }), { ...event("VoteCast", { validator: BOB, slot: 1, approve: true }), log_index: 1 }];
    const finalized = event("JobFinalized", { outcome: 0, accepts: 2, rejects: 0 });
    const paid = event("ProviderPaid", { provider: BOB, payment: "10", reward: "1" });
    const state = foldTimeline([paid, finalized, ...votes, submitted, claimed, posted]); // order restored by block
    expect(state.paid?.payment).toBe("10");
    expect(timelineSteps(state, context).map((s) => s.status)).toEqual(["done", "done", "done", "done", "done", "done"]);
    expect(timelineSteps(state, context).at(-1)).toMatchObject({ title: "Accepted", detail: "provider paid" });
  });

  it("puts each appeal on the timeline and votes the new round from the appeal's block", () => {
    const posted = event("JobPosted");
    const claimed = event("JobClaimed", { provider: BOB, deadline: 1_700_001_000 });
    const submitted = event("ResultSubmitted", { provider: BOB, checkpointCount: 4, rosterRoot: ROSTER });
    // The appeal reveals round 0's votes, then starts round 1, in one transaction.
    const rejected = event("VoteCast", { validator: ALICE, slot: 0, approve: false });
    const appealed = { ...rejected, event: "JobAppealed", log_index: 1, args: { jobId: 1, round: 1, appellant: BOB, bond: "31000000000000000000", rosterRoot: ROSTER } };
    const state = foldTimeline([posted, claimed, submitted, rejected, appealed]);
    expect(state.round).toBe(1);
    expect(state.votes).toEqual([]);
    expect(state.appeals).toEqual([expect.objectContaining({ round: 1, appellant: BOB, bond: "31000000000000000000", accepts: 0, rejects: 1 })]);
    const steps = timelineSteps(state, context);
    expect(steps.map((s) => s.key)).toEqual(["posted", "claimed", "running", "submitted", "appeal-1", "verification", "outcome"]);
    expect(steps.find((s) => s.key === "appeal-1")).toMatchObject({
      title: "Appeal to round 1",
      status: "done",
      detail: `by ${BOB}, bond 31 CROWD; round 0 had 0 accept, 1 reject; 31 new seats`,
      txHash: appealed.tx_hash,
    });
    expect(steps.find((s) => s.key === "verification")?.detail).toBe(
      `round 1: 31 seats sign their votes privately; all are revealed together at finalize (window ends at block ${appealed.block_number + 1 + 20})`,
    );
    const finalized = event("JobFinalized", { outcome: 0, accepts: 1, rejects: 0 });
    const approved = { ...finalized, event: "VoteCast", log_index: -1, args: { jobId: 1, validator: ALICE, slot: 0, approve: true } };
    const done = timelineSteps(foldTimeline([posted, claimed, submitted, rejected, appealed, approved, finalized]), context);
    expect(done.find((s) => s.key === "verification")?.detail).toBe("round 1: 1 accept, 0 reject of 31");
  });

  it("counts the revealed votes that did not count (SeatUnbacked) apart, in the round and in its appeal", () => {
    const posted = event("JobPosted");
    const claimed = event("JobClaimed", { provider: BOB, deadline: 1_700_001_000 });
    const submitted = event("ResultSubmitted", { provider: BOB, checkpointCount: 4, rosterRoot: ROSTER });
    const approved = event("VoteCast", { validator: ALICE, slot: 0, approve: true });
    const unbacked = { ...approved, event: "SeatUnbacked", log_index: 1, args: { jobId: 1, validator: BOB, slot: 1, bond: "500" } };
    const appealed = { ...approved, event: "JobAppealed", log_index: 2, args: { jobId: 1, round: 1, appellant: BOB, bond: "31000000000000000000", rosterRoot: ROSTER } };
    const state = foldTimeline([posted, claimed, submitted, approved, unbacked, appealed]);
    expect(state.unbacked).toBe(0);
    expect(state.appeals).toEqual([expect.objectContaining({ accepts: 1, rejects: 0, unbacked: 1 })]);
    expect(timelineSteps(state, context).find((s) => s.key === "appeal-1")?.detail).toBe(
      `by ${BOB}, bond 31 CROWD; round 0 had 1 accept, 0 reject, 1 not counted (stake could not back the bond); 31 new seats`,
    );
    const finalized = { ...event("JobFinalized", { outcome: 2, accepts: 1, rejects: 0 }), block_number: appealed.block_number + 40 };
    const late = (e: typeof approved, i: number) => ({ ...e, block_number: finalized.block_number, log_index: -10 + i });
    const round1 = foldTimeline([posted, claimed, submitted, approved, unbacked, appealed, late(approved, 0), late(unbacked, 1), late(unbacked, 2), finalized]);
    expect(timelineSteps(round1, context).find((s) => s.key === "verification")?.detail).toBe(
      "round 1: 1 accept, 0 reject, 2 not counted (stake could not back the bond) of 31",
    );
  });

  it("names the voting window: it opens after the seed block, the one after the submission", () => {
    expect(votingWindow(100, 20)).toEqual({ seedBlock: 101, first: 102, last: 121 });
    const posted = event("JobPosted");
    const claimed = event("JobClaimed", { provider: BOB, deadline: 1_700_001_000 });
    const submitted = event("ResultSubmitted", { provider: BOB, checkpointCount: 4 });
    const steps = timelineSteps(foldTimeline([posted, claimed, submitted]), { ...context, verifyBlocks: 5 });
    const { last } = votingWindow(submitted.block_number, 5);
    // Votes are signed privately and revealed together by finalize: no running tally, only the window.
    expect(steps.find((s) => s.key === "verification")?.detail).toBe(
      `3 seats sign their votes privately; all are revealed together at finalize (window ends at block ${last})`,
    );
  });

  it("marks a rejection as failed verification", () => {
    const events = [
      event("JobPosted"),
      event("JobClaimed", { provider: BOB, deadline: 1 }),
      event("ResultSubmitted", { checkpointCount: 3 }),
      event("VoteCast", { validator: ALICE, slot: 0, approve: false }),
      event("JobFinalized", { outcome: 1, accepts: 0, rejects: 1 }),
    ];
    expect(statuses(events)).toMatchObject({ verification: "failed", outcome: "failed" });
  });

  it("skips what never happened to a cancelled job", () => {
    expect(statuses([event("JobPosted"), event("JobCancelled", { refund: "13" })])).toEqual({
      posted: "done",
      claimed: "skipped",
      running: "skipped",
      submitted: "skipped",
      verification: "skipped",
      outcome: "done",
    });
  });

  it("starts a new attempt when an expired job reopens, remembering the old one", () => {
    const events = [
      event("JobPosted"),
      event("JobClaimed", { provider: BOB, deadline: 5 }),
      event("JobExpired", { provider: BOB, slashed: "5" }),
      event("JobReopened", { attempts: 1 }),
    ];
    const state = foldTimeline(events);
    expect(state.attempt).toBe(1);
    expect(state.earlier).toEqual([{ attempt: 0, endedBy: "Expired", provider: BOB, at: events[3]!.timestamp }]);
    expect(state.claimed).toBeNull();
    const steps = timelineSteps(state, context);
    expect(steps[0]!.detail).toBe("attempt 2 of 4");
    expect(steps[1]!.status).toBe("current");
  });

  it("reports an expired job's run as failed", () => {
    const events = [event("JobPosted"), event("JobClaimed", { provider: BOB, deadline: 5 }), event("JobExpired", { provider: BOB })];
    expect(statuses(events)).toMatchObject({ running: "failed", outcome: "failed" });
  });

  it("describes optimistic verification in mode None", () => {
    const events = [event("JobPosted"), event("JobClaimed", { provider: BOB, deadline: 5 }), event("ResultSubmitted", { checkpointCount: 0 })];
    const steps = timelineSteps(foldTimeline(events), { ...context, mode: "None" });
    expect(steps.find((s) => s.key === "verification")?.detail).toMatch(/optimistic/);
  });
});
