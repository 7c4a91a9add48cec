// Before any escrow moves: would a registered provider run this job, and does the network run its image?
// The rules and their words are crowdcompute/requester/checks.py's (`job submit` applies them): a test holds
// this file to the Python reference (tests/fixtures/python_reference.json, `preflight`).
import { shortAddress, tokenAmountPlain } from "./format";
import { PLACEHOLDER_DIGEST } from "./runtimePin";

/** A job's minimum capabilities, as its spec posts them (CPU cores rounded up). */
export interface Needs {
  gpuCount: number;
  gpuMemoryMiB: number;
  gpuClass: number;
  cpuCores: number;
  memoryMiB: number;
}

export interface PreflightJob {
  needs: Needs;
  budget: bigint;
  collateral: bigint;
  runTimeout: number;
  image: string;
  digest: string;
}

/** A registered provider as the gateway lists it (GET /providers). */
export interface NetworkProvider {
  address: string;
  gpu_count: number;
  gpu_memory_mib: number;
  gpu_class: number;
  cpu_cores: number;
  memory_mib: number;
  price_per_hour: string;
  stake: string;
}

interface Resource {
  need: keyof Needs;
  offer: "gpu_count" | "gpu_memory_mib" | "gpu_class" | "cpu_cores" | "memory_mib";
  amount: (value: number) => string;
}

const grouped = (value: number) => value.toLocaleString("en-US");

/** The capabilities the contract compares at claim, in its order (jobs/matching.py `RESOURCES`). */
const RESOURCES: Resource[] = [
  { need: "gpuCount", offer: "gpu_count", amount: (v) => `${grouped(v)} GPUs` },
  { need: "gpuMemoryMiB", offer: "gpu_memory_mib", amount: (v) => `${grouped(v)} MiB of GPU memory` },
  { need: "gpuClass", offer: "gpu_class", amount: (v) => `GPU class ${v}` },
  { need: "cpuCores", offer: "cpu_cores", amount: (v) => `${grouped(v)} CPU cores` },
  { need: "memoryMiB", offer: "memory_mib", amount: (v) => `${grouped(v)} MiB of memory` },
];

function firstGap(needs: Needs, provider: NetworkProvider): { resource: Resource; offered: number } | null {
  for (const resource of RESOURCES) {
    if (needs[resource.need] > provider[resource.offer]) return { resource, offered: provider[resource.offer] };
  }
  return null;
}

/** What the job pays per hour of its run timeout (rounded down), and the least budget meeting `price`. */
export function budgetPerHour(budget: bigint, runTimeout: number): bigint {
  return (budget * 3600n) / BigInt(Math.max(1, runTimeout));
}

export function budgetFor(pricePerHour: bigint, runTimeout: number): bigint {
  const total = pricePerHour * BigInt(Math.max(1, runTimeout));
  return (total + 3599n) / 3600n;
}

const maxOf = (values: bigint[]) => values.reduce((a, b) => (b > a ? b : a));
const minOf = (values: bigint[]) => values.reduce((a, b) => (b < a ? b : a));

function providerReasons(job: PreflightJob, providers: NetworkProvider[], minStake: bigint): string[] {
  if (!providers.length) return ["no provider is registered on this market yet: the job would stay Open until one registers"];
  const short = RESOURCES.flatMap((resource) => {
    const needed = job.needs[resource.need];
    const most = Math.max(...providers.map((p) => p[resource.offer]));
    return needed > most ? [`no registered provider offers ${resource.amount(needed)}; the largest offers ${grouped(most)}`] : [];
  });
  if (short.length) return short;
  const fitting = providers.filter((p) => firstGap(job.needs, p) === null);
  if (!fitting.length) {
    const shown = providers.slice(0, 3).map((p) => {
      const gap = firstGap(job.needs, p)!;
      return `${shortAddress(p.address)} has ${gap.resource.amount(gap.offered)}`;
    });
    const more = providers.length > 3 ? ` and ${providers.length - 3} more` : "";
    return [`no registered provider offers everything this job asks at once (${shown.join("; ")}${more})`];
  }
  const staked = fitting.filter((p) => BigInt(p.stake) >= minStake);
  if (!staked.length) {
    const who = fitting.length === 1 ? "the 1 registered provider" : `the ${fitting.length} registered providers`;
    const most = maxOf(fitting.map((p) => BigInt(p.stake)));
    return [
      `${who} that could run it ${fitting.length === 1 ? "has" : "have"} staked less than the market's minimum of ` +
        `${tokenAmountPlain(minStake)} (the most: ${tokenAmountPlain(most)}), so none can claim it`,
    ];
  }
  const able = staked.filter((p) => BigInt(p.stake) >= job.collateral);
  if (!able.length) {
    const most = maxOf(staked.map((p) => BigInt(p.stake)));
    return [
      `its collateral of ${tokenAmountPlain(job.collateral)} is more than any provider that could run it has staked ` +
        `(the most: ${tokenAmountPlain(most)}): lower the collateral`,
    ];
  }
  const cheapest = minOf(able.map((p) => BigInt(p.price_per_hour)));
  const pays = budgetPerHour(job.budget, job.runTimeout);
  if (pays < cheapest) {
    return [
      `it pays ${tokenAmountPlain(pays)} per hour of its run timeout (budget ${tokenAmountPlain(job.budget)} over ` +
        `${grouped(job.runTimeout)} s); the cheapest provider that could run it asks ${tokenAmountPlain(cheapest)} per hour: ` +
        `raise the budget to at least ${tokenAmountPlain(budgetFor(cheapest, job.runTimeout))}, or shorten the run timeout`,
    ];
  }
  return [];
}

function imageReason(job: PreflightJob, runtimeImages: Record<string, string> | null): string | null {
  const { image, digest } = job;
  if (digest === PLACEHOLDER_DIGEST) return `job.toml pins ${image} to the examples' placeholder id ${digest}, which no provider runs`;
  if (!runtimeImages || !Object.keys(runtimeImages).length) return null;
  const advertised = runtimeImages[image];
  if (advertised === undefined) {
    const known = Object.keys(runtimeImages).sort().join(", ");
    return `the network's nodes run no image named ${image} (the gateway advertises: ${known}); providers never pull images, so none has it`;
  }
  if (advertised !== digest) {
    return (
      `job.toml pins ${image} to ${digest}, but the network's nodes run ${advertised}: no provider has ` +
      `the pinned image; set [runtime] digest to ${advertised}`
    );
  }
  return null;
}

/** Why no registered provider would claim the job, in words (empty when one would). */
export function whyNoProvider(
  job: PreflightJob,
  providers: NetworkProvider[],
  minStake: bigint,
  runtimeImages: Record<string, string> | null,
): string[] {
  const image = imageReason(job, runtimeImages);
  return [...providerReasons(job, providers, minStake), ...(image ? [image] : [])];
}
