// Following a job's log over Server-Sent Events through gateway restarts, without a browser: the stream and
// the timers are handed in, so tests drive it with fakes (tests/logFollower.test.ts).
//
// The gateway sends `log` events (id = seq), `gap` events for lines it never received (id = the gap's last
// seq) and `end` with the job's final state (GET /jobs/{id}/logs?follow=true, api/services/logs.py). When
// the stream fails, this closes it and opens a new one after a backoff (0.5 s, doubling up to 15 s), with
// `after=` the last seq it passed on: no line is given twice, none is skipped, and the page says it is
// reconnecting rather than leaving a dead view.
import type { components } from "../generated/api";

export type LogLinePublic = components["schemas"]["LogLinePublic"];
export type LogGapPublic = components["schemas"]["LogGapPublic"];

export type LogEntry = { kind: "line"; line: LogLinePublic } | { kind: "gap"; first: number; last: number };

/** What the page shows about the connection. */
export interface FollowerState {
  status: "connecting" | "live" | "reconnecting" | "ended";
  /** Failed tries in a row (0 while live). */
  attempt: number;
  /** While reconnecting: how long until the next try. */
  retryInMs: number | null;
  /** The last seq passed on (a line's, or a gap's last); -1 before any. */
  lastSeq: number;
  endState: string | null;
}

/** The part of `EventSource` used here. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export interface FollowerDeps {
  open(url: string): EventSourceLike;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface FollowerOptions {
  /** The stream's URL for a job, resuming after `after`. */
  urlFor(jobId: number, after: number): string;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export const INITIAL_FOLLOWER_STATE: FollowerState = {
  status: "connecting",
  attempt: 0,
  retryInMs: null,
  lastSeq: -1,
  endState: null,
};

/** The text a gap shows, as the CLI prints it. */
export function gapText(first: number, last: number): string {
  return first === last ? `[line ${first} not received]` : `[lines ${first}–${last} not received]`;
}

export class LogFollower {
  private state: FollowerState = { ...INITIAL_FOLLOWER_STATE };
  private source: EventSourceLike | null = null;
  private timer: unknown = null;
  private stopped = false;

  constructor(
    private readonly jobId: number,
    private readonly deps: FollowerDeps,
    private readonly onEntries: (entries: LogEntry[]) => void,
    private readonly onState: (state: FollowerState) => void,
    private readonly options: FollowerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.closeSource();
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
  }

  private update(changes: Partial<FollowerState>): void {
    this.state = { ...this.state, ...changes };
    this.onState(this.state);
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    const source = this.deps.open(this.options.urlFor(this.jobId, this.state.lastSeq));
    this.source = source;
    // Events of a stream this follower has given up on are ignored.
    const mine = (handler: (event: Event) => void) => (event: Event) => {
      if (this.source === source && !this.stopped) handler(event);
    };
    source.addEventListener("open", mine(() => this.update({ status: "live", attempt: 0, retryInMs: null })));
    source.addEventListener("log", mine((event) => this.onLine(event)));
    source.addEventListener("gap", mine((event) => this.onGap(event)));
    source.addEventListener("end", mine((event) => this.onEnd(event)));
    source.addEventListener("error", mine(() => this.onError()));
  }

  private onLine(event: Event): void {
    const line = parse<LogLinePublic>(event);
    if (!line || typeof line.seq !== "number" || line.seq <= this.state.lastSeq) return;
    this.state = { ...this.state, lastSeq: line.seq };
    this.onEntries([{ kind: "line", line }]);
  }

  private onGap(event: Event): void {
    const gap = parse<LogGapPublic>(event);
    if (!gap || typeof gap.last !== "number" || gap.last <= this.state.lastSeq) return;
    const first = Math.max(gap.first, this.state.lastSeq + 1);
    this.state = { ...this.state, lastSeq: gap.last };
    this.onEntries([{ kind: "gap", first, last: gap.last }]);
  }

  private onEnd(event: Event): void {
    const end = parse<{ job_state?: string }>(event);
    this.closeSource();
    this.update({ status: "ended", retryInMs: null, endState: end?.job_state ?? null });
  }

  private onError(): void {
    // The browser would retry by itself, but only we know to resume after the last line we passed on and to
    // say that we are retrying; so every failure closes the stream and schedules a new one.
    this.closeSource();
    const attempt = this.state.attempt + 1;
    const first = this.options.firstDelayMs ?? 500;
    const delay = Math.min(first * 2 ** (attempt - 1), this.options.maxDelayMs ?? 15_000);
    this.update({ status: "reconnecting", attempt, retryInMs: delay });
    this.timer = this.deps.setTimer(() => this.connect(), delay);
  }

  private closeSource(): void {
    const source = this.source;
    this.source = null;
    source?.close();
  }
}

function parse<T>(event: Event): T | null {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}
