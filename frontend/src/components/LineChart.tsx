// A small SVG line chart: one or more series over a shared x axis, with nice ticks and a hover readout.
import { useEffect, useMemo, useRef, useState, type RefObject } from "react";

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  /** Hold each value until the next point (a running total), instead of a straight line between points. */
  step?: boolean;
}

function path(points: { x: number; y: number }[], step: boolean): { x: number; y: number }[] {
  if (!step) return points;
  return points.flatMap((p, i) => (i === 0 ? [p] : [{ x: p.x, y: points[i - 1]!.y }, p]));
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
const MARGIN = { top: 12, right: 16, bottom: 36, left: 56 };

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

/** 1,500 · 0.5 · 0.125: three significant digits at most, no trailing zeros. */
export function plainNumber(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return String(Number(value.toPrecision(3)));
}

/** The element's width in CSS pixels, followed as it resizes (so text in the SVG keeps its size). */
function useWidth<T extends Element>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => {
      const measured = Math.round(entry?.contentRect.width ?? 0);
      if (measured > 0) setWidth(measured);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

export function LineChart({ series, xLabel, yLabel, height = 240, formatX = plainNumber, formatY = plainNumber }: LineChartProps) {
  const [hover, setHover] = useState<number | null>(null);
  const [box, WIDTH] = useWidth<HTMLElement>();
  const all = series.flatMap((s) => s.points);
  const bounds = useMemo(() => {
    const xs = all.map((p) => p.x);
    const ys = all.map((p) => p.y);
    let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
    if (yMin === yMax) [yMin, yMax] = [yMin - 1, yMax + 1];
    const pad = (yMax - yMin) * 0.05;
    return { xMin: Math.min(...xs), xMax: Math.max(...xs), yMin: yMin - pad, yMax: yMax + pad };
  }, [all]);
  if (!all.length) return null;

  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = height - MARGIN.top - MARGIN.bottom;
  const xSpan = bounds.xMax - bounds.xMin || 1;
  const sx = (x: number) => MARGIN.left + ((x - bounds.xMin) / xSpan) * innerW;
  const sy = (y: number) => MARGIN.top + innerH - ((y - bounds.yMin) / (bounds.yMax - bounds.yMin)) * innerH;
  const xTicks = niceTicks(bounds.xMin, bounds.xMax, Math.max(2, Math.floor(innerW / 110)));
  const yTicks = niceTicks(bounds.yMin, bounds.yMax, 5);
  const first = series[0]?.points ?? [];
  const nearest =
    hover === null ? null : first.reduce((best, p) => (Math.abs(sx(p.x) - hover) < Math.abs(sx(best.x) - hover) ? p : best), first[0]!);

  return (
    <figure className="chart" ref={box}>
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        role="img"
        aria-label={`${yLabel} by ${xLabel}`}
        onMouseMove={(event) => {
          const box = event.currentTarget.getBoundingClientRect();
          setHover(((event.clientX - box.left) / box.width) * WIDTH);
        }}
        onMouseLeave={() => setHover(null)}
      >
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line className="grid" x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={sy(t)} y2={sy(t)} />
            <text className="tick" x={MARGIN.left - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle">
              {formatY(t)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text
            key={`x${t}`}
            className="tick"
            x={sx(t)}
            y={height - MARGIN.bottom + 16}
            textAnchor={sx(t) > WIDTH - MARGIN.right - 40 ? "end" : "middle"}
          >
            {formatX(t)}
          </text>
        ))}
        <text className="axis-label" x={MARGIN.left + innerW / 2} y={height - 4} textAnchor="middle">
          {xLabel}
        </text>
        {series.map((s, i) => (
          <polyline
            key={s.name}
            className="series"
            fill="none"
            stroke={s.color ?? PALETTE[i % PALETTE.length]}
            points={path(s.points, s.step ?? false)
              .map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
              .join(" ")}
          />
        ))}
        {first.length === 1 && <circle cx={sx(first[0]!.x)} cy={sy(first[0]!.y)} r={3} fill={series[0]?.color ?? PALETTE[0]} />}
        {nearest && (
          <g>
            <line className="cursor" x1={sx(nearest.x)} x2={sx(nearest.x)} y1={MARGIN.top} y2={MARGIN.top + innerH} />
            <circle cx={sx(nearest.x)} cy={sy(nearest.y)} r={4} fill={series[0]?.color ?? PALETTE[0]} />
          </g>
        )}
      </svg>
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
