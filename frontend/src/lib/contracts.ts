// The market's types as viem infers them from the generated ABI, and the Solidity enums' labels.
import type { AbiParameterToPrimitiveType, ContractFunctionArgs } from "viem";
import { crowdMarketAbi, crowdTokenAbi } from "../generated/abis";

export { crowdMarketAbi, crowdTokenAbi };

/** `Job` as calldata: what every job call after `postJob` takes. */
export type Job = ContractFunctionArgs<typeof crowdMarketAbi, "pure" | "view", "hashJob">[0];
export type JobSpec = Job["spec"];
export type JobState = Job["state"];

type PostJobInput = Extract<(typeof crowdMarketAbi)[number], { type: "function"; name: "postJob" }>["inputs"][0];
/** `JobSpec` as `postJob` takes it (the same struct). */
export type PostJobSpec = AbiParameterToPrimitiveType<PostJobInput>;

// Solidity enum members in declaration order (contracts/market/Types.sol).
export const JOB_STATUS = ["None", "Open", "Claimed", "Submitted", "Closed"] as const;
export const VERIFICATION_MODE = ["None", "Segments", "Shards", "Replicate"] as const;
export const OUTCOME = ["Accepted", "Rejected", "Unverified"] as const;
export const CAPABILITY = ["GpuCount", "GpuMemory", "GpuClass", "CpuCores", "Memory"] as const;
export const ROLE = ["None", "Provider", "Validator"] as const;
export const JOB_SPEC_FIELD = [
  "Budget",
  "BundleDigest",
  "Collateral",
  "RunTimeout",
  "CommitteeSize",
  "SamplesPerValidator",
  "VerifyBlocks",
] as const;

export type ModeName = "none" | "segments" | "shards" | "replicate";
export const MODE_INDEX: Record<ModeName, number> = { none: 0, segments: 1, shards: 2, replicate: 3 };

/** The label of enum member `value`, or the number itself when out of range. */
export function enumLabel(labels: readonly string[], value: unknown): string {
  const index = Number(value);
  return Number.isInteger(index) && index >= 0 && index < labels.length ? (labels[index] as string) : String(value);
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
export const ZERO_BYTES32 = `0x${"0".repeat(64)}` as const;

/** Limits `postJob` enforces (docs/protocol.md, InvalidJobSpec). */
export const SPEC_LIMITS = {
  maxCommittee: 8,
  maxVerifyBlocks: 240,
  maxRunTimeout: 2 ** 32 - 1,
  maxSamples: 255,
} as const;
