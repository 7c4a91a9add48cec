// Provider figures for the dashboard and the leaderboard.
import { formatUnits } from "viem";
import type { JobPublic, ProviderPublic } from "./api";
import { TOKEN_DECIMALS } from "./format";

export interface EarningPoint {
  x: number;
  y: number;
  jobId: number;
}

/**
 * Cumulative earnings (budget + reward, whole tokens) over the accepted jobs, by time (or block when the
 * index has no timestamps), starting from zero when the first of those jobs was posted.
 */
export function earningsOverTime(jobs: JobPublic[]): { points: EarningPoint[]; byTime: boolean } {
  const accepted = jobs.filter((job) => job.state === "Accepted");
  const byTime = accepted.every((job) => job.updated_at !== null);
  const at = (job: JobPublic) => (byTime ? (job.updated_at as number) : job.updated_block);
  const postedAt = (job: JobPublic) => (byTime ? (job.posted_at ?? (job.updated_at as number)) : job.posted_block);
  let total = 0n;
  const ordered = [...accepted].sort((a, b) => at(a) - at(b) || a.id - b.id);
  const points = ordered.map((job) => {
    total += BigInt(job.budget) + BigInt(job.reward);
    return { x: at(job), y: Number(formatUnits(total, TOKEN_DECIMALS)), jobId: job.id };
  });
  const first = ordered[0];
  if (first) points.unshift({ x: Math.min(...ordered.map(postedAt)), y: 0, jobId: first.id });
  return { points, byTime };
}

export type LeaderboardKey = "completed" | "earnings" | "stake" | "success";

export function successRate(provider: ProviderPublic): number | null {
  const finished = provider.completed_jobs + provider.failed_jobs;
  return finished ? provider.completed_jobs / finished : null;
}

/** Providers ranked by `key`, ties broken by completed jobs, then earnings, then address. */
export function rankProviders(providers: ProviderPublic[], key: LeaderboardKey): ProviderPublic[] {
  const earnings = (p: ProviderPublic) => BigInt(p.earnings) + BigInt(p.rewards);
  const compareBig = (a: bigint, b: bigint) => (a === b ? 0 : a > b ? -1 : 1);
  const primary = (a: ProviderPublic, b: ProviderPublic): number => {
    switch (key) {
      case "earnings":
        return compareBig(earnings(a), earnings(b));
      case "stake":
        return compareBig(BigInt(a.stake), BigInt(b.stake));
      case "success":
        return (successRate(b) ?? -1) - (successRate(a) ?? -1);
      default:
        return b.completed_jobs - a.completed_jobs;
    }
  };
  return [...providers].sort(
    (a, b) =>
      primary(a, b) ||
      b.completed_jobs - a.completed_jobs ||
      compareBig(earnings(a), earnings(b)) ||
      (a.address < b.address ? -1 : 1),
  );
}
