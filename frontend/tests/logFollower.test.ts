import { describe, expect, it } from "vitest";
import { LogFollower, gapText, type EventSourceLike, type FollowerState, type LogEntry } from "../src/lib/logFollower";
import { appendEntries, followUrl, type LogStream } from "../src/lib/useLogStream";

/** An EventSource the test drives: `emit` delivers an event to the listeners, `closed` tells if it was closed. */
class FakeSource implements EventSourceLike {
  closed = false;
  private listeners = new Map<string, ((event: Event) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
  }
  emit(type: string, data?: unknown): void {
    const event = data === undefined ? new Event(type) : new MessageEvent(type, { data: JSON.stringify(data) });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
  line(seq: number): void {
    this.emit("log", { seq, text: `line ${seq}`, stream: "stdout", ts: 1 });
  }
}

/** A follower over fake streams and a fake clock. */
function harness() {
  const sources: FakeSource[] = [];
  const timers: { callback: () => void; ms: number; cleared: boolean }[] = [];
  const entries: LogEntry[] = [];
  const states: FollowerState[] = [];
  const follower = new LogFollower(
    7,
    {
      open: (url) => {
        const source = new FakeSource(url);
        sources.push(source);
        return source;
      },
      setTimer: (callback, ms) => {
        const timer = { callback, ms, cleared: false };
        timers.push(timer);
        return timer;
      },
      clearTimer: (handle) => {
        (handle as { cleared: boolean }).cleared = true;
      },
    },
    (batch) => entries.push(...batch),
    (state) => states.push(state),
    { urlFor: (jobId, after) => `/jobs/${jobId}/logs?follow=true&after=${after}` },
  );
  const fire = () => {
    const timer = timers.find((t) => !t.cleared && t.callback);
    if (!timer) throw new Error("no timer pending");
    timer.cleared = true;
    timer.callback();
  };
  const last = () => sources[sources.length - 1]!;
  const seqs = () => entries.map((e) => (e.kind === "line" ? e.line.seq : `gap ${e.first}-${e.last}`));
  return { follower, sources, timers, entries, states, fire, last, seqs };
}

describe("following a job's log through gateway restarts", () => {
  it("reconnects with a growing backoff, says so, and resumes after the last line without duplicates", () => {
    const h = harness();
    h.follower.start();
    expect(h.last().url).toBe("/jobs/7/logs?follow=true&after=-1");
    h.last().emit("open");
    [0, 1, 2].forEach((seq) => h.last().line(seq));
    h.last().emit("error"); // the gateway went away
    expect(h.sources[0]!.closed).toBe(true);
    expect(h.states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1, retryInMs: 500, lastSeq: 2 });

    h.fire();
    expect(h.last().url).toBe("/jobs/7/logs?follow=true&after=2");
    h.last().emit("error"); // still down
    expect(h.timers.at(-1)!.ms).toBe(1000);
    h.fire();
    h.last().emit("error");
    expect(h.timers.at(-1)!.ms).toBe(2000);
    h.fire();
    expect(h.last().url).toBe("/jobs/7/logs?follow=true&after=2");
    h.last().emit("open");
    expect(h.states.at(-1)).toMatchObject({ status: "live", attempt: 0, retryInMs: null });
    [2, 3, 4].forEach((seq) => h.last().line(seq)); // a resent line is not shown twice
    h.last().emit("end", { job_state: "Accepted", next_seq: 5 });
    expect(h.seqs()).toEqual([0, 1, 2, 3, 4]);
    expect(h.states.at(-1)).toMatchObject({ status: "ended", endState: "Accepted" });
    expect(h.last().closed).toBe(true);
    expect(h.timers.filter((t) => !t.cleared)).toHaveLength(0);
  });

  it("shows a gap once, resumes after it, and ignores a stream it gave up on", () => {
    const h = harness();
    h.follower.start();
    const first = h.last();
    first.line(0);
    first.emit("gap", { first: 1, last: 119 });
    first.line(120);
    first.emit("error");
    first.line(121); // a late event of the closed stream
    h.fire();
    expect(h.last().url).toBe("/jobs/7/logs?follow=true&after=120");
    h.last().emit("gap", { first: 100, last: 119 }); // already shown
    h.last().line(121);
    expect(h.seqs()).toEqual([0, "gap 1-119", 120, 121]);
    expect(gapText(1, 119)).toBe("[lines 1–119 not received]");
    expect(gapText(5, 5)).toBe("[line 5 not received]");
  });

  it("stops for good: no stream left open, no retry pending", () => {
    const h = harness();
    h.follower.start();
    h.last().emit("error");
    h.follower.stop();
    expect(h.timers.every((t) => t.cleared)).toBe(true);
    expect(h.sources).toHaveLength(1);
  });
});

describe("the log view's counts", () => {
  it("counts lines and the lines not received, and reads metrics", () => {
    const empty: LogStream = {
      entries: [],
      metrics: [],
      total: 0,
      missing: 0,
      status: "live",
      attempt: 0,
      retryInMs: null,
      endState: null,
    };
    const stream = appendEntries(empty, [
      { kind: "line", line: { seq: 0, text: '{"event":"metrics","step":1,"loss":0.5}', stream: "stdout", ts: 1 } },
      { kind: "gap", first: 1, last: 10 },
      { kind: "line", line: { seq: 11, text: "done", stream: "stdout", ts: 1 } },
    ]);
    expect([stream.total, stream.missing, stream.entries.length]).toEqual([2, 10, 3]);
    expect(stream.metrics).toEqual([{ step: 1, loss: 0.5 }]);
    expect(followUrl(3, 41)).toMatch(/\/jobs\/3\/logs\?follow=true&after=41$/);
  });
});
