// A job's log, followed live over Server-Sent Events (GET /jobs/{id}/logs?follow=true) by a `LogFollower`:
// lines and the gaps the gateway reports, reconnecting with backoff after `after=` the last seq when the
// gateway restarts or the stream drops, until `end` says the job is over.
import { useEffect, useRef, useState } from "react";
import { apiUrl } from "./api";
import { INITIAL_FOLLOWER_STATE, LogFollower, type FollowerState, type LogEntry } from "./logFollower";
import { parseMetricsLine } from "./metrics";

export type { LogEntry } from "./logFollower";

export const MAX_SHOWN_LINES = 2000;

export interface LogStream {
  /** The newest lines and gaps, in log order (at most `MAX_SHOWN_LINES`). */
  entries: LogEntry[];
  /** Every metrics record seen, in arrival order (kept even when old lines scroll out). */
  metrics: Record<string, number>[];
  /** Lines received. */
  total: number;
  /** Lines the gateway never received (the sum of the gaps). */
  missing: number;
  status: FollowerState["status"] | "unsupported";
  /** While reconnecting: the try it is on and when the next comes. */
  attempt: number;
  retryInMs: number | null;
  endState: string | null;
}

const INITIAL: LogStream = {
  entries: [],
  metrics: [],
  total: 0,
  missing: 0,
  status: "connecting",
  attempt: 0,
  retryInMs: null,
  endState: null,
};

export function followUrl(jobId: number, after: number): string {
  return apiUrl(`/jobs/${jobId}/logs?follow=true&after=${after}`);
}

export function useLogStream(jobId: number, enabled: boolean): LogStream {
  const [stream, setStream] = useState<LogStream>(INITIAL);
  const pending = useRef<LogEntry[]>([]);

  useEffect(() => {
    setStream(INITIAL);
    if (!enabled) return;
    if (typeof EventSource === "undefined") {
      setStream({ ...INITIAL, status: "unsupported" });
      return;
    }
    let frame = 0;
    // Lines arrive in bursts; render at most once per animation frame.
    const flush = () => {
      frame = 0;
      const batch = pending.current;
      pending.current = [];
      if (!batch.length) return;
      setStream((prev) => appendEntries(prev, batch));
    };
    const follower = new LogFollower(
      jobId,
      {
        open: (url) => new EventSource(url),
        setTimer: (callback, ms) => window.setTimeout(callback, ms),
        clearTimer: (handle) => window.clearTimeout(handle as number),
      },
      (entries) => {
        pending.current.push(...entries);
        if (!frame) frame = window.requestAnimationFrame(flush);
      },
      (state) => {
        if (state.status === "ended") flush();
        setStream((prev) => ({
          ...prev,
          status: state.status,
          attempt: state.attempt,
          retryInMs: state.retryInMs,
          endState: state.endState,
        }));
      },
      { urlFor: followUrl },
    );
    follower.start();
    return () => {
      follower.stop();
      if (frame) window.cancelAnimationFrame(frame);
      pending.current = [];
    };
  }, [jobId, enabled]);

  return stream;
}

/** The stream with `batch` appended: metrics read from the lines, counts kept, the oldest entries dropped. */
export function appendEntries(prev: LogStream, batch: LogEntry[]): LogStream {
  const metrics = [...prev.metrics];
  let lines = 0;
  let missing = 0;
  for (const entry of batch) {
    if (entry.kind === "gap") {
      missing += entry.last - entry.first + 1;
      continue;
    }
    lines += 1;
    const record = parseMetricsLine(entry.line.text);
    if (record) metrics.push(record);
  }
  return {
    ...prev,
    entries: [...prev.entries, ...batch].slice(-MAX_SHOWN_LINES),
    metrics,
    total: prev.total + lines,
    missing: prev.missing + missing,
  };
}
