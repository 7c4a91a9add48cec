import { describe, expect, it } from "vitest";
import { budgetFor, budgetPerHour, whyNoProvider, type NetworkProvider } from "../src/lib/preflight";
import reference from "./fixtures/python_reference.json";

describe("why no registered provider would run a job (the post page's check)", () => {
  it.each(reference.preflight.map((c, i) => [i, c] as const))("words case %i exactly as `job submit` does", (_, c) => {
    const job = { ...c.job, budget: BigInt(c.job.budget), collateral: BigInt(c.job.collateral) };
    const reasons = whyNoProvider(job, c.providers as NetworkProvider[], BigInt(c.minStake), c.runtimeImages as Record<string, string> | null);
    expect(reasons).toEqual(c.reasons);
  });

  it("covers the 1 TB job of the issue", () => {
    const words = "no registered provider offers 1,048,576 MiB of memory; the largest offers 24,105";
    expect(reference.preflight.some((c) => c.reasons.includes(words))).toBe(true);
  });

  it("finds the least budget that meets a price per hour", () => {
    for (const [price, timeout] of [
      [10n ** 18n, 600],
      [3n * 10n ** 18n, 7],
      [7n, 3601],
    ] as const) {
      const budget = budgetFor(price, timeout);
      expect(budgetPerHour(budget, timeout) >= price).toBe(true);
      expect(budgetPerHour(budget - 1n, timeout) < price).toBe(true);
    }
  });
});
