// A job's life as steps (posted, claimed, running, submitted, verification, outcome), folded from the
// events the gateway indexed for it. Reopened jobs start a new attempt; earlier attempts are kept. An appeal
// starts the next committee round (31, then 193 seats) whose window runs from the appeal's block.
import { FINAL_ROUND, ROUND_1_SEATS, ROUND_2_SEATS } from "../generated/jobLayout";
import type { ChainEventPublic, TerminalState } from "./api";
import { OUTCOME, enumLabel } from "./contracts";
import { tokenAmount } from "./format";

/** Seats in committee round `round`: the requester's committee, then 31, then 193 (`chain.round_seats`). */
export function roundSeats(committeeSize: number, round: number): number {
  return round === 0 ? committeeSize : round === 1 ? ROUND_1_SEATS : ROUND_2_SEATS;
}

export { FINAL_ROUND };

export interface EventMark {
  block: number;
  at: number | null;
  txHash: string;
}

export interface VoteMark extends EventMark {
  validator: string;
  slot: number;
  approve: boolean;
}

/** A `JobAppealed`: round `round` starts at this block; the appealed round's revealed votes are kept. */
export interface AppealMark extends EventMark {
  round: number;
  appellant: string;
  bond: string;
  accepts: number;
  rejects: number;
  /** Revealed votes of the appealed round that did not count (`SeatUnbacked`). */
  unbacked: number;
}

export type ClosedKind = TerminalState;

export interface AttemptSummary {
  attempt: number;
  endedBy: ClosedKind;
  provider: string | null;
  at: number | null;
}

export interface TimelineState {
  attempt: number;
  posted: EventMark | null;
  claimed: (EventMark & { provider: string; deadline: number }) | null;
  /** `rosterRoot`: the roster snapshot the committee is drawn from, with the seed of block `block + 1`. */
  submitted: (EventMark & { rosterRoot: string; checkpointCount: number }) | null;
  /** The current committee round: 0, then one more per appeal. */
  round: number;
  /** Appeals of this attempt, oldest first. */
  appeals: AppealMark[];
  /** The current round's votes, revealed together by `finalize` (none while the committee is still signing). */
  votes: VoteMark[];
  /** The current round's revealed votes that did not count: their validators' free stake could not lock the
   * seat's bond (`SeatUnbacked`). */
  unbacked: number;
  closed: (EventMark & { kind: ClosedKind; accepts?: number; rejects?: number }) | null;
  paid: (EventMark & { payment: string; reward: string }) | null;
  earlier: AttemptSummary[];
}

export const INITIAL_TIMELINE: TimelineState = {
  attempt: 0,
  posted: null,
  claimed: null,
  submitted: null,
  round: 0,
  appeals: [],
  votes: [],
  unbacked: 0,
  closed: null,
  paid: null,
  earlier: [],
};

function mark(event: ChainEventPublic): EventMark {
  return { block: event.block_number, at: event.timestamp ?? null, txHash: event.tx_hash };
}

const num = (value: unknown) => Number(value ?? 0);

/** One event into the timeline. */
export function timelineReducer(state: TimelineState, event: ChainEventPublic): TimelineState {
  const args = event.args as Record<string, unknown>;
  switch (event.event) {
    case "JobPosted":
      return { ...INITIAL_TIMELINE, posted: mark(event) };
    case "JobClaimed":
      return { ...state, claimed: { ...mark(event), provider: String(args.provider), deadline: num(args.deadline) } };
    case "ResultSubmitted":
      return {
        ...state,
        submitted: { ...mark(event), rosterRoot: String(args.rosterRoot ?? ""), checkpointCount: num(args.checkpointCount) },
      };
    case "VoteCast":
      return {
        ...state,
        votes: [...state.votes, { ...mark(event), validator: String(args.validator), slot: num(args.slot), approve: Boolean(args.approve) }],
      };
    case "SeatUnbacked":
      return { ...state, unbacked: state.unbacked + 1 };
    case "JobAppealed": {
      // The appeal revealed the appealed round's votes (its `VoteCast`s come first in the same transaction).
      const accepts = state.votes.filter((v) => v.approve).length;
      const appeal: AppealMark = {
        ...mark(event),
        round: num(args.round),
        appellant: String(args.appellant),
        bond: String(args.bond),
        accepts,
        rejects: state.votes.length - accepts,
        unbacked: state.unbacked,
      };
      return { ...state, round: appeal.round, appeals: [...state.appeals, appeal], votes: [], unbacked: 0 };
    }
    case "JobFinalized":
      return {
        ...state,
        closed: { ...mark(event), kind: enumLabel(OUTCOME, args.outcome) as ClosedKind, accepts: num(args.accepts), rejects: num(args.rejects) },
      };
    case "ProviderPaid":
      return { ...state, paid: { ...mark(event), payment: String(args.payment), reward: String(args.reward) } };
    case "JobExpired":
      return { ...state, closed: { ...mark(event), kind: "Expired" } };
    case "JobCancelled":
      return { ...state, closed: { ...mark(event), kind: "Cancelled" } };
    case "JobReopened": {
      const summary: AttemptSummary = {
        attempt: state.attempt,
        endedBy: state.closed?.kind ?? "Expired",
        provider: state.claimed?.provider ?? null,
        at: event.timestamp ?? null,
      };
      return { ...INITIAL_TIMELINE, posted: state.posted, attempt: num(args.attempts), earlier: [...state.earlier, summary] };
    }
    default:
      return state;
  }
}

export function foldTimeline(events: ChainEventPublic[]): TimelineState {
  const ordered = [...events].sort((a, b) => a.block_number - b.block_number || a.log_index - b.log_index);
  return ordered.reduce(timelineReducer, INITIAL_TIMELINE);
}

export type StepStatus = "done" | "current" | "pending" | "failed" | "skipped";
export type StepKey = "posted" | "claimed" | "running" | "submitted" | `appeal-${number}` | "verification" | "outcome";

export interface TimelineStep {
  key: StepKey;
  title: string;
  status: StepStatus;
  detail: string;
  at: number | null;
  txHash?: string;
}

/** The blocks that accept votes on a result submitted in `submitBlock`, mirroring the contract: the seed is
 * the hash of the next block (the seed block), readable from the block after it, and the window runs
 * `verifyBlocks` blocks past the seed block. `finalize` without a majority works from `last + 1`. */
export interface VotingWindow {
  seedBlock: number;
  first: number;
  last: number;
}

export function votingWindow(submitBlock: number, verifyBlocks: number): VotingWindow {
  const seedBlock = submitBlock + 1;
  return { seedBlock, first: seedBlock + 1, last: seedBlock + verifyBlocks };
}

export interface StepContext {
  committeeSize: number;
  mode: string;
  /** The job's window after its seed block (`verify_blocks`). */
  verifyBlocks?: number;
  /** The provider has pushed log lines for the current attempt. */
  logsSeen: boolean;
}

function step(key: StepKey, title: string, status: StepStatus, detail: string, at: EventMark | null = null): TimelineStep {
  return { key, title, status, detail, at: at?.at ?? null, ...(at ? { txHash: at.txHash } : {}) };
}

/** The block whose hash seeds the committee: the one after the submission. */
export function seedBlock(submitted: EventMark): number {
  return submitted.block + 1;
}

/** ", 2 not counted (stake could not back the bond)" when a round had unbacked votes, else "". */
function uncounted(unbacked: number): string {
  return unbacked ? `, ${unbacked} not counted (stake could not back the bond)` : "";
}

/** The steps of the current attempt (six, and one per appeal before verification), each done, current,
 * pending, failed or skipped. */
export function timelineSteps(state: TimelineState, context: StepContext): TimelineStep[] {
  const { claimed, submitted, closed, votes } = state;
  const kind = closed?.kind ?? null;
  const optimistic = context.mode.toLowerCase() === "none";
  const accepts = votes.filter((v) => v.approve).length;
  const rejects = votes.length - accepts;
  const steps: TimelineStep[] = [
    step("posted", "Posted", state.posted ? "done" : "pending", state.attempt ? `attempt ${state.attempt + 1} of 4` : "escrow funded", state.posted),
  ];
  if (claimed) steps.push(step("claimed", "Claimed", "done", `by ${claimed.provider}`, claimed));
  else if (kind === "Cancelled") steps.push(step("claimed", "Claimed", "skipped", "cancelled before any provider claimed it"));
  else steps.push(step("claimed", "Claimed", "current", "waiting for a provider with matching hardware"));

  if (submitted) steps.push(step("running", "Running", "done", "training finished"));
  else if (kind === "Expired") steps.push(step("running", "Running", "failed", "no result before the deadline; collateral slashed"));
  else if (claimed && !kind) steps.push(step("running", "Running", "current", context.logsSeen ? "training; logs below" : "starting the container"));
  else steps.push(step("running", "Running", kind ? "skipped" : "pending", ""));

  if (submitted) {
    steps.push(step("submitted", "Result submitted", "done", `${submitted.checkpointCount} checkpoints committed`, submitted));
  } else {
    steps.push(step("submitted", "Result submitted", kind ? "skipped" : "pending", ""));
  }

  for (const appeal of state.appeals) {
    const seats = roundSeats(context.committeeSize, appeal.round);
    const detail = `by ${appeal.appellant}, bond ${tokenAmount(appeal.bond)}; round ${appeal.round - 1} had ${appeal.accepts} accept, ${appeal.rejects} reject${uncounted(appeal.unbacked)}; ${seats} new seats`;
    steps.push(step(`appeal-${appeal.round}`, `Appeal to round ${appeal.round}`, "done", detail, appeal));
  }

  const seats = roundSeats(context.committeeSize, state.round);
  const roundStart = state.appeals.at(-1) ?? submitted;
  const roundName = state.round ? `round ${state.round}: ` : "";
  const tally = `${roundName}${accepts} accept, ${rejects} reject${uncounted(state.unbacked)} of ${seats}`;
  if (!submitted) steps.push(step("verification", "Verification", kind ? "skipped" : "pending", optimistic ? "optimistic" : ""));
  else if (!kind) {
    const windowEnd = seedBlock(roundStart ?? submitted) + (context.verifyBlocks ?? 0);
    const detail = optimistic
      ? "optimistic: accepted unless validators object"
      : `${roundName}${seats} seats sign their votes privately; all are revealed together at finalize (window ends at block ${windowEnd})`;
    steps.push(step("verification", "Verification", "current", detail));
  }
  else steps.push(step("verification", "Verification", kind === "Rejected" ? "failed" : "done", votes.length ? tally : "no votes"));

  if (closed) {
    const failed = kind === "Rejected" || kind === "Expired";
    const detail =
      kind === "Accepted"
        ? "provider paid"
        : kind === "Cancelled"
          ? "escrow refunded"
          : kind === "Unverified"
            ? "no majority of the committee; requester refunded, silent seats lose a bond"
            : "collateral slashed";
    steps.push(step("outcome", kind ?? "Closed", failed ? "failed" : "done", detail, closed));
  } else {
    steps.push(step("outcome", "Outcome", "pending", ""));
  }
  return steps;
}
