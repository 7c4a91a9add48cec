// Live logs and the training loss plotted from the metrics lines in them.
import { useEffect, useMemo, useRef, useState } from "react";
import { Empty } from "../../components/common";
import { Chart, type Series } from "../../components/Chart";
import { plainNumber } from "../../lib/format";
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

const STATUS_TEXT: Record<LogStream["status"], string> = {
  connecting: "connecting…",
  live: "live",
  ended: "finished",
  error: "disconnected",
};

export function LogViewer({ stream }: { stream: LogStream }) {
  const box = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [stream.lines, follow]);
  return (
    <div className="logs">
      <div className="logs-bar">
        <span className={`live-dot live-${stream.status}`} aria-hidden="true" />
        <span>{STATUS_TEXT[stream.status]}</span>
        <span className="muted small">
          {stream.total} line{stream.total === 1 ? "" : "s"}
          {stream.total > stream.lines.length ? ` (last ${stream.lines.length} shown)` : ""}
        </span>
        <label className="check small">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.currentTarget.checked)} /> follow
        </label>
      </div>
      {stream.lines.length === 0 ? (
        <Empty title={stream.status === "ended" ? "This job has no logs" : "No log lines yet"}>
          {stream.status !== "ended" && "Lines appear here as the provider's container prints them."}
        </Empty>
      ) : (
        <pre ref={box} className="log-lines" aria-label="Job log">
          {stream.lines.map((line) => (
            <div key={line.seq} className={line.stream === "stderr" ? "log-line stderr" : "log-line"}>
              <span className="seq">{line.seq}</span>
              {line.text}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}
