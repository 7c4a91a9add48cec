// A line chart on uPlot: one or more series over a shared x axis, round ticks, and a hover readout.
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { plainNumber } from "../lib/format";

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  /** Hold each value until the next point (a running total), instead of a straight line between points. */
  step?: boolean;
}

interface LineChartProps {
  series: Series[];
  xLabel: string;
  yLabel: string;
  height?: number;
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
}

const PALETTE = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9"];
const DEFAULT_WIDTH = 640;
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif';
const LABEL_FONT = FONT.replace("11px", "12px");

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const span = max - min;
  const rough = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => span / s <= count) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

/** The series on one x axis, as uPlot takes them (a value per x for every series, null where it has none). */
export function alignSeries(series: Series[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const ys: (number | null)[] = xs.map(() => null);
    for (const p of s.points) ys[at.get(p.x) as number] = p.y;
    return ys;
  });
  return [xs, ...columns] as uPlot.AlignedData;
}

/** About one x tick per 110 CSS pixels of plot. */
function xTickCount(u: uPlot): number {
  return Math.max(2, Math.floor((u.width - 72) / 110));
}

/** The x axis's tick labels, centred under their tick, or ending at it near the right edge (never cut off). */
function drawXTicks(u: uPlot, format: (x: number) => string): void {
  const ratio = uPlot.pxRatio;
  const { min, max } = u.scales.x ?? {};
  if (min === undefined || max === undefined) return;
  const splits = niceTicks(min, max, xTickCount(u));
  const right = u.bbox.left + u.bbox.width;
  const { ctx } = u;
  ctx.save();
  ctx.font = FONT.replace("11px", `${Math.round(11 * ratio)}px`);
  ctx.fillStyle = "#6b7385";
  ctx.textBaseline = "top";
  for (const x of splits) {
    const at = u.valToPos(x, "x", true);
    ctx.textAlign = at > right - 40 * ratio ? "right" : "center";
    ctx.fillText(format(x), at, u.bbox.top + u.bbox.height + 4 * ratio);
  }
  ctx.restore();
}

/** The y range with 5% room above and below (a flat line gets ±1). */
function yRange(min: number, max: number): uPlot.Range.MinMax {
  let [low, high] = [min, max];
  if (low === high) [low, high] = [low - 1, high + 1];
  const pad = (high - low) * 0.05;
  return [low - pad, high + pad];
}

export function LineChart({ series, xLabel, yLabel, height = 240, formatX = plainNumber, formatY = plainNumber }: LineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const formats = useRef({ x: formatX, y: formatY });
  formats.current = { x: formatX, y: formatY };
  const [hoverX, setHoverX] = useState<number | null>(null);
  const data = useMemo(() => alignSeries(series), [series]);
  // The chart is rebuilt when its shape changes; new points only replace its data.
  const shape = `${height}|${xLabel}|${series.map((s) => `${s.name}:${s.color ?? ""}:${s.step ? 1 : 0}:${Math.min(s.points.length, 2)}`).join(",")}`;

  useEffect(() => {
    const element = box.current;
    if (!element || !series.length) return;
    const options: uPlot.Options = {
      width: Math.round(element.clientWidth) || DEFAULT_WIDTH,
      height,
      padding: [12, 16, 0, 0],
      legend: { show: false },
      cursor: { y: false, drag: { x: false, y: false }, points: { size: 8 } },
      scales: {
        x: { time: false, range: (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]) },
        y: { range: (_u, min, max) => yRange(min, max) },
      },
      axes: [
        {
          label: xLabel,
          labelFont: LABEL_FONT,
          labelSize: 16,
          font: FONT,
          stroke: "#6b7385",
          size: 20,
          gap: 4,
          grid: { show: false },
          ticks: { show: false },
          splits: (u, _axis, min, max) => niceTicks(min, max, xTickCount(u)),
          // Drawn by the hook below, which keeps the last label inside the chart.
          values: (_u, splits) => splits.map(() => ""),
        },
        {
          font: FONT,
          stroke: "#6b7385",
          size: 56,
          gap: 6,
          grid: { stroke: "#e3e6ef", width: 1 },
          ticks: { show: false },
          splits: (_u, _axis, min, max) => niceTicks(min, max, 5),
          values: (_u, splits) => splits.map((y) => formats.current.y(y)),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.name,
          stroke: s.color ?? PALETTE[i % PALETTE.length],
          width: 2,
          spanGaps: true,
          points: { show: s.points.length === 1, size: 6 },
          ...(s.step ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
        })),
      ],
      hooks: {
        draw: [(u) => drawXTicks(u, (x) => formats.current.x(x))],
        setCursor: [
          (u) => {
            const left = u.cursor.left;
            setHoverX(left === undefined || left < 0 ? null : u.posToVal(left, "x"));
          },
        ],
      },
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const observer =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(([entry]) => {
            const width = Math.round(entry?.contentRect.width ?? 0);
            if (width > 0 && width !== chart.width) chart.setSize({ width, height });
          });
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const first = series[0]?.points ?? [];
  if (!series.some((s) => s.points.length)) return null;
  const nearest =
    hoverX === null || !first.length ? null : first.reduce((best, p) => (Math.abs(p.x - hoverX) < Math.abs(best.x - hoverX) ? p : best), first[0]!);

  return (
    <figure className="chart">
      <div ref={box} className="chart-plot" role="img" aria-label={`${yLabel} by ${xLabel}`} onMouseLeave={() => setHoverX(null)} />
      <figcaption>
        {series.map((s, i) => (
          <span key={s.name} className="legend">
            <span className="swatch" style={{ background: s.color ?? PALETTE[i % PALETTE.length] }} />
            {s.name}
          </span>
        ))}
        {nearest && (
          <span className="readout">
            {xLabel} {formatX(nearest.x)}: {yLabel} {formatY(nearest.y)}
          </span>
        )}
      </figcaption>
    </figure>
  );
}
