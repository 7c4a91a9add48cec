// The market's types as viem infers them from the generated ABI, and the Solidity enums' labels.
import type { AbiParameterToPrimitiveType, ContractFunctionArgs } from "viem";
import { crowdMarketAbi, crowdTokenAbi } from "../generated/abis";
import {
  JOB_SPEC_FIELDS,
  MAX_COMMITTEE_SIZE,
  MAX_VERIFY_BLOCKS,
  VERIFICATION_MODE_NAMES,
} from "../generated/jobLayout";

export { crowdMarketAbi, crowdTokenAbi };

/** `Job` as calldata: what every job call after `postJob` takes. */
export type Job = ContractFunctionArgs<typeof crowdMarketAbi, "pure" | "view", "hashJob">[0];
export type JobSpec = Job["spec"];
export type JobState = Job["state"];

type PostJobInput = Extract<(typeof crowdMarketAbi)[number], { type: "function"; name: "postJob" }>["inputs"][0];
/** `JobSpec` as `postJob` takes it (the same struct). */
export type PostJobSpec = AbiParameterToPrimitiveType<PostJobInput>;

// Solidity enum members in declaration order, and the layout's constants: generated from
// contracts/market/Types.sol (`make setup`), never typed here.
export {
  CAPABILITY,
  JOB_SPEC_FIELD,
  JOB_STATUS,
  OUTCOME,
  ROLE,
  VERIFICATION_MODE,
  VERIFICATION_MODE_NAMES,
  VOTE_REASON,
} from "../generated/jobLayout";

export type ModeName = (typeof VERIFICATION_MODE_NAMES)[number];
/** A mode's name (as manifests spell it) to its enum value. */
export const MODE_INDEX = Object.fromEntries(VERIFICATION_MODE_NAMES.map((name, index) => [name, index])) as Record<
  ModeName,
  number
>;

/** The label of enum member `value`, or the number itself when out of range. */
export function enumLabel(labels: readonly string[], value: unknown): string {
  const index = Number(value);
  return Number.isInteger(index) && index >= 0 && index < labels.length ? (labels[index] as string) : String(value);
}

export { zeroAddress as ZERO_ADDRESS, zeroHash as ZERO_BYTES32 } from "viem";

/** The largest value a `JobSpec` field of `bits` bits holds, as a number (fields up to 32 bits). */
const widest = (name: (typeof JOB_SPEC_FIELDS)[number]["name"]): number =>
  2 ** (JOB_SPEC_FIELDS.find((field) => field.name === name) as { bits: number }).bits - 1;

/** Limits `postJob` enforces (docs/protocol.md, InvalidJobSpec): its constants and the fields' widths. */
export const SPEC_LIMITS = {
  maxCommittee: MAX_COMMITTEE_SIZE,
  maxVerifyBlocks: MAX_VERIFY_BLOCKS,
  maxRunTimeout: widest("runTimeout"),
  maxSamples: widest("samplesPerValidator"),
} as const;
