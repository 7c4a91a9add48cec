// The line chart, fetched with its charting library (uPlot) the first time a page draws one.
import { lazy, Suspense, type ComponentProps } from "react";

const LineChart = lazy(() => import("./LineChart").then((module) => ({ default: module.LineChart })));

export type { Series } from "./LineChart";

export function Chart(props: ComponentProps<typeof LineChart>) {
  return (
    <Suspense fallback={<div className="chart" style={{ minHeight: (props.height ?? 240) + 24 }} />}>
      <LineChart {...props} />
    </Suspense>
  );
}
