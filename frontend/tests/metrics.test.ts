import { describe, expect, it } from "vitest";
import { downsample, lossSeries, metricSeries, parseMetricsLine } from "../src/lib/metrics";

describe("the loss-series parser", () => {
  it("reads metrics lines and ignores everything else", () => {
    const lines = [
      "starting training",
      '{"event":"metrics","step":10,"loss":2.5}',
      '{"event":"checkpoint","step":10}',
      '2026-01-01T00:00:00Z {"event":"metrics","step":20,"loss":1.75,"lr":0.01}',
      '{"event":"metrics","step":"30","loss":1.0}',
      '{"event":"metrics","step":30,"loss":"NaN"}',
      '{"event":"metrics", broken',
    ];
    expect(lossSeries(lines)).toEqual([
      { step: 10, value: 2.5 },
      { step: 20, value: 1.75 },
    ]);
    expect(metricSeries(lines).get("lr")).toEqual([{ step: 20, value: 0.01 }]);
  });

  it("sorts by step and keeps the last value of a repeated step (a resumed run)", () => {
    const lines = [
      '{"event":"metrics","step":200,"loss":0.5}',
      '{"event":"metrics","step":100,"loss":0.9}',
      '{"event":"metrics","step":200,"loss":0.4}',
    ];
    expect(lossSeries(lines)).toEqual([
      { step: 100, value: 0.9 },
      { step: 200, value: 0.4 },
    ]);
  });

  it("treats the SDK's segment index as a position, not a metric to plot", () => {
    const series = metricSeries(['{"event":"metrics","step":120,"segment":5,"loss":0.53}']);
    expect([...series.keys()]).toEqual(["loss"]);
  });

  it("parses one line into its numeric fields", () => {
    expect(parseMetricsLine('{"event":"metrics","step":5,"loss":0.1,"note":"x"}')).toEqual({ step: 5, loss: 0.1 });
    expect(parseMetricsLine('["event","metrics"]')).toBeNull();
  });

  it("downsamples evenly, keeping both ends", () => {
    const points = Array.from({ length: 1001 }, (_, i) => ({ step: i, value: i }));
    const small = downsample(points, 11);
    expect(small).toHaveLength(11);
    expect(small[0]).toEqual({ step: 0, value: 0 });
    expect(small[10]).toEqual({ step: 1000, value: 1000 });
    expect(downsample(points.slice(0, 5), 11)).toHaveLength(5);
  });
});
