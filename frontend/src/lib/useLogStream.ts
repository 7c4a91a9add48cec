// A job's log, followed live over Server-Sent Events (GET /jobs/{id}/logs?follow=true): `log` events
// carry one line each (id = seq; the browser resumes with Last-Event-ID), `end` says the job is over.
import { useEffect, useRef, useState } from "react";
import { apiUrl, type LogLinePublic } from "./api";
import { parseMetricsLine } from "./metrics";

export const MAX_SHOWN_LINES = 2000;

export interface LogStream {
  lines: LogLinePublic[];
  /** Every metrics record seen, in arrival order (kept even when old lines scroll out). */
  metrics: Record<string, number>[];
  total: number;
  status: "connecting" | "live" | "ended" | "error";
  endState: string | null;
}

const INITIAL: LogStream = { lines: [], metrics: [], total: 0, status: "connecting", endState: null };

export function useLogStream(jobId: number, enabled: boolean): LogStream {
  const [stream, setStream] = useState<LogStream>(INITIAL);
  const pending = useRef<LogLinePublic[]>([]);

  useEffect(() => {
    setStream(INITIAL);
    if (!enabled || typeof EventSource === "undefined") return;
    const source = new EventSource(apiUrl(`/jobs/${jobId}/logs?follow=true`));
    let frame = 0;
    // Lines arrive in bursts; render at most once per animation frame.
    const flush = () => {
      frame = 0;
      const batch = pending.current;
      pending.current = [];
      if (!batch.length) return;
      setStream((prev) => {
        const metrics = [...prev.metrics];
        for (const line of batch) {
          const record = parseMetricsLine(line.text);
          if (record) metrics.push(record);
        }
        const lines = [...prev.lines, ...batch].slice(-MAX_SHOWN_LINES);
        return { ...prev, lines, metrics, total: prev.total + batch.length, status: prev.status === "ended" ? "ended" : "live" };
      });
    };
    source.addEventListener("open", () => setStream((prev) => ({ ...prev, status: prev.status === "ended" ? "ended" : "live" })));
    source.addEventListener("log", (event) => {
      try {
        pending.current.push(JSON.parse((event as MessageEvent<string>).data) as LogLinePublic);
      } catch {
        return;
      }
      if (!frame) frame = window.requestAnimationFrame(flush);
    });
    source.addEventListener("end", (event) => {
      let endState: string | null = null;
      try {
        endState = (JSON.parse((event as MessageEvent<string>).data) as { job_state?: string }).job_state ?? null;
      } catch {
        endState = null;
      }
      source.close();
      flush();
      setStream((prev) => ({ ...prev, status: "ended", endState }));
    });
    source.addEventListener("error", () => {
      // The browser retries on its own while the stream is open; a closed stream is a real failure.
      if (source.readyState === EventSource.CLOSED) setStream((prev) => (prev.status === "ended" ? prev : { ...prev, status: "error" }));
    });
    return () => {
      source.close();
      if (frame) window.cancelAnimationFrame(frame);
      pending.current = [];
    };
  }, [jobId, enabled]);

  return stream;
}
