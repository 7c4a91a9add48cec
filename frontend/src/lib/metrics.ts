// Training metrics in a job's log: lines such as {"event":"metrics","step":120,"loss":0.42}.

/** Where in the run a record was logged, not something measured: never plotted as a series. */
export const POSITION_KEYS: ReadonlySet<string> = new Set(["step", "segment"]);

export interface MetricPoint {
  step: number;
  value: number;
}

/** The metrics object a log line carries (JSON, possibly after a prefix such as a timestamp), or null. */
export function parseMetricsLine(text: string): Record<string, number> | null {
  const start = text.indexOf("{");
  if (start < 0 || !text.includes('"metrics"')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start).trim());
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  if (record.event !== "metrics" || typeof record.step !== "number" || !Number.isFinite(record.step)) return null;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key !== "event" && typeof value === "number" && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

/**
 * One series per metric (`loss`, `val_loss`, ...) from metrics records, sorted by step; a step logged
 * twice (a resumed run) keeps its last value. The SDK's `segment` index is a position like `step`.
 */
export function seriesFromRecords(records: Iterable<Record<string, number>>): Map<string, MetricPoint[]> {
  const byMetric = new Map<string, Map<number, number>>();
  for (const metrics of records) {
    const step = metrics.step;
    if (step === undefined) continue;
    for (const [name, value] of Object.entries(metrics)) {
      if (POSITION_KEYS.has(name)) continue;
      let points = byMetric.get(name);
      if (!points) byMetric.set(name, (points = new Map()));
      points.set(step, value);
    }
  }
  const series = new Map<string, MetricPoint[]>();
  for (const [name, points] of byMetric) {
    series.set(
      name,
      [...points].map(([step, value]) => ({ step, value })).sort((a, b) => a.step - b.step),
    );
  }
  return series;
}

/** The metric series of raw log lines. */
export function metricSeries(lines: Iterable<string>): Map<string, MetricPoint[]> {
  const records: Record<string, number>[] = [];
  for (const line of lines) {
    const record = parseMetricsLine(line);
    if (record) records.push(record);
  }
  return seriesFromRecords(records);
}

/** The loss series of `lines` (empty when the job logs none). */
export function lossSeries(lines: Iterable<string>): MetricPoint[] {
  return metricSeries(lines).get("loss") ?? [];
}

/** At most `max` points, evenly picked, always keeping the first and the last. */
export function downsample(points: MetricPoint[], max: number): MetricPoint[] {
  if (points.length <= max || max < 2) return points;
  const out: MetricPoint[] = [];
  const stride = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i += 1) out.push(points[Math.round(i * stride)] as MetricPoint);
  return out;
}
