// Live logs and the training loss plotted from the metrics lines in them.
import { useEffect, useMemo, useRef, useState } from "react";
import { Empty } from "../../components/common";
import { Chart, type Series } from "../../components/Chart";
import { plainNumber } from "../../lib/format";
import { gapText } from "../../lib/logFollower";
import { downsample, seriesFromRecords } from "../../lib/metrics";
import type { LogStream } from "../../lib/useLogStream";

const CHART_POINTS = 400;
const LOSS_NAMES = ["loss", "val_loss", "train_loss", "eval_loss"];

export function LossChart({ stream }: { stream: LogStream }) {
  const series = useMemo(() => seriesFromRecords(stream.metrics), [stream.metrics]);
  const shown: Series[] = LOSS_NAMES.filter((name) => series.has(name)).map((name) => ({
    name,
    points: downsample(series.get(name) ?? [], CHART_POINTS).map((p) => ({ x: p.step, y: p.value })),
  }));
  const others = [...series.keys()].filter((name) => !LOSS_NAMES.includes(name));
  if (!shown.length) {
    return (
      <Empty title={stream.status === "ended" ? "No loss was reported" : "No loss reported yet"}>
        The chart fills from log lines like <code>{'{"event":"metrics","step":100,"loss":0.42}'}</code>.
      </Empty>
    );
  }
  return (
    <div>
      <Chart series={shown} xLabel="step" yLabel="loss" />
      {others.length > 0 && (
        <p className="muted small">
          Latest:{" "}
          {others.map((name) => {
            const points = series.get(name) ?? [];
            const last = points[points.length - 1];
            return last ? <span key={name} className="metric">{`${name} ${plainNumber(last.value)} (step ${last.step}) `}</span> : null;
          })}
        </p>
      )}
    </div>
  );
}

function statusText(stream: LogStream): string {
  switch (stream.status) {
    case "connecting":
      return "connecting…";
    case "live":
      return "live";
    case "ended":
      return "finished";
    case "unsupported":
      return "this browser cannot follow a live log";
    case "reconnecting": {
      const wait = stream.retryInMs === null ? "" : ` in ${Math.max(1, Math.round(stream.retryInMs / 1000))} s`;
      return `the gateway is unreachable; reconnecting${wait} (try ${stream.attempt}), going on after the last line shown`;
    }
  }
}

export function LogViewer({ stream }: { stream: LogStream }) {
  const box = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [stream.entries, follow]);
  const shownLines = stream.entries.filter((entry) => entry.kind === "line").length;
  return (
    <div className="logs">
      <div className="logs-bar">
        <span className={`live-dot live-${stream.status}`} aria-hidden="true" />
        <span role="status">{statusText(stream)}</span>
        <span className="muted small">
          {stream.total} line{stream.total === 1 ? "" : "s"}
          {stream.total > shownLines ? ` (last ${shownLines} shown)` : ""}
          {stream.missing > 0 ? `, ${stream.missing} not received` : ""}
        </span>
        <label className="check small">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.currentTarget.checked)} /> follow
        </label>
      </div>
      {stream.entries.length === 0 ? (
        <Empty title={stream.status === "ended" ? "This job has no logs" : "No log lines yet"}>
          {stream.status !== "ended" && "Lines appear here as the provider's container prints them."}
        </Empty>
      ) : (
        <pre ref={box} className="log-lines" aria-label="Job log">
          {stream.entries.map((entry) =>
            entry.kind === "gap" ? (
              <div key={`gap-${entry.first}`} className="log-gap">
                <span className="seq">{entry.first}</span>
                {gapText(entry.first, entry.last)}
              </div>
            ) : (
              <div key={entry.line.seq} className={entry.line.stream === "stderr" ? "log-line stderr" : "log-line"}>
                <span className="seq">{entry.line.seq}</span>
                {entry.line.text}
              </div>
            ),
          )}
        </pre>
      )}
    </div>
  );
}
