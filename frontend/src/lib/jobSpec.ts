// The post form: defaults from the manifest, checks that mirror `postJob`'s InvalidJobSpec rules, and the
// `JobSpec` struct it posts (requester, reward and protocolFee are set by the contract; the protocol fee is filled
// in beforehand, as the market will set it, so that the escrow shown is what the post pulls).
import { formatUnits, type Hex } from "viem";
import type { ChainCid } from "./cid";
import { MODE_INDEX, SPEC_LIMITS, VERIFICATION_MODE_NAMES, ZERO_ADDRESS, ZERO_BYTES32, type ModeName, type PostJobSpec } from "./contracts";
import { parseInteger, parseTokenAmount, type Parsed } from "./format";
import { valueAt, type ManifestData } from "./manifest";

export const DEFAULT_VERIFY_BLOCKS = 20;
/** The modes the form offers: those that check the work first, "none" (nothing re-run) last. */
export const MODES: ModeName[] = [...VERIFICATION_MODE_NAMES.filter((name) => name !== "none"), "none"];

export interface SpecForm {
  budget: string;
  validatorFee: string;
  collateral: string;
  runTimeout: string;
  mode: ModeName;
  committeeSize: string;
  samplesPerValidator: string;
  verifyBlocks: string;
  reopenOnFailure: boolean;
}

export type SpecField = keyof SpecForm;

export interface SpecValues {
  budget: bigint;
  validatorFee: bigint;
  collateral: bigint;
  runTimeout: number;
  mode: ModeName;
  committeeSize: number;
  samplesPerValidator: number;
  verifyBlocks: number;
  reopenOnFailure: boolean;
}

/** The capabilities a manifest asks for, as `JobSpec` takes them (jobs/manifest/requirements.py). */
export type Requirements = Pick<PostJobSpec, "gpuCount" | "gpuMemoryMiB" | "gpuClass" | "cpuCores" | "memoryMiB">;

/** The market's rates a post depends on (`config()`): the protocol fee and the least collateral, in basis points. */
export interface MarketRates {
  feeBps: number;
  minCollateralBps: number;
}

export const NO_RATES: MarketRates = { feeBps: 0, minCollateralBps: 0 };

const BPS = 10_000n;

/** The protocol fee the market records at post: budget × feeBps / 10,000, rounded up. */
export function protocolFeeOf(budget: bigint, feeBps: number): bigint {
  return (budget * BigInt(feeBps) + BPS - 1n) / BPS;
}

/** The least collateral the ratio allows: budget × minCollateralBps / 10,000, rounded down. */
export function minCollateralOf(budget: bigint, minCollateralBps: number): bigint {
  return (budget * BigInt(minCollateralBps)) / BPS;
}

const text = (value: unknown, fallback: string) =>
  value === undefined || value === null || value === "" ? fallback : String(value);

export function formFromManifest(manifest: ManifestData | null, rates: MarketRates = NO_RATES): SpecForm {
  const mode = valueAt(manifest, "verification.mode");
  const budget = text(valueAt(manifest, "payment.budget"), "10");
  return {
    budget,
    validatorFee: text(valueAt(manifest, "payment.validator_fee"), "1"),
    collateral: text(valueAt(manifest, "payment.collateral"), defaultCollateral(budget, rates)),
    runTimeout: text(valueAt(manifest, "resources.timeout_s"), "3600"),
    mode: MODES.includes(mode as ModeName) ? (mode as ModeName) : "segments",
    committeeSize: text(valueAt(manifest, "verification.committee_size"), "3"),
    samplesPerValidator: text(valueAt(manifest, "verification.samples_per_validator"), mode === "replicate" || mode === "none" ? "0" : "1"),
    verifyBlocks: text(valueAt(manifest, "verification.verify_blocks"), String(DEFAULT_VERIFY_BLOCKS)),
    reopenOnFailure: true,
  };
}

/** "5" tokens, or the ratio's minimum for the budget when that is more. */
function defaultCollateral(budget: string, rates: MarketRates): string {
  const parsed = parseTokenAmount(budget);
  const floor = 5n * 10n ** 18n;
  const least = parsed.ok ? minCollateralOf(parsed.value, rates.minCollateralBps) : 0n;
  return least > floor ? formatUnits(least, 18) : "5";
}

export function requirementsOf(manifest: ManifestData | null): Requirements {
  const int = (path: string) => {
    const value = Number(valueAt(manifest, path) ?? 0);
    return Number.isFinite(value) && value > 0 ? value : 0;
  };
  return {
    gpuCount: int("resources.gpus"),
    gpuMemoryMiB: int("resources.gpu_memory_mib"),
    gpuClass: int("resources.gpu_class"),
    cpuCores: Math.ceil(int("resources.cpus")),
    memoryMiB: int("resources.memory_mib"),
  };
}

/** What the requester pays at post: the budget, the protocol fee and every committee member's fee. */
export function escrowOf(budget: bigint, committeeSize: number, validatorFee: bigint, protocolFee = 0n): bigint {
  return budget + protocolFee + BigInt(committeeSize) * validatorFee;
}

export interface SpecCheck {
  values: SpecValues | null;
  errors: Partial<Record<SpecField, string>>;
}

/** Parse the form and apply the contract's rules, so a post that would revert is caught before signing. */
export function checkSpecForm(form: SpecForm, rates: MarketRates = NO_RATES): SpecCheck {
  const errors: Partial<Record<SpecField, string>> = {};
  const take = <T>(field: SpecField, parsed: Parsed<T>): T | null => {
    if (parsed.ok) return parsed.value;
    errors[field] = parsed.error;
    return null;
  };
  const budget = take("budget", parseTokenAmount(form.budget));
  const validatorFee = take("validatorFee", parseTokenAmount(form.validatorFee));
  const collateral = take("collateral", parseTokenAmount(form.collateral));
  const runTimeout = take("runTimeout", parseInteger(form.runTimeout, 1, SPEC_LIMITS.maxRunTimeout));
  const needsCommittee = form.mode !== "none";
  // Mode none has no committee: the market wants 0 seats.
  const committeeSize = needsCommittee
    ? take("committeeSize", parseInteger(form.committeeSize, 1, SPEC_LIMITS.maxCommittee))
    : 0;
  const needsSamples = form.mode === "segments" || form.mode === "shards";
  const samplesPerValidator = take(
    "samplesPerValidator",
    parseInteger(form.samplesPerValidator || "0", needsSamples ? 1 : 0, SPEC_LIMITS.maxSamples),
  );
  const verifyBlocks = take("verifyBlocks", parseInteger(form.verifyBlocks, 1, SPEC_LIMITS.maxVerifyBlocks));
  if (budget === 0n) errors.budget = "must be more than 0";
  // An odd committee always has a strict majority (the market refuses even sizes).
  if (needsCommittee && committeeSize !== null && committeeSize % 2 === 0) {
    errors.committeeSize = "must be odd, so that one side always has a strict majority";
  }
  if (collateral !== null && validatorFee !== null && committeeSize !== null) {
    const needed = BigInt(committeeSize) * validatorFee;
    if (collateral < needed) errors.collateral = "must cover the committee's fees (committee size × validator fee)";
  }
  if (collateral !== null && budget !== null && collateral < minCollateralOf(budget, rates.minCollateralBps)) {
    errors.collateral = `must be at least ${rates.minCollateralBps / 100} % of the budget`;
  }
  if (Object.keys(errors).length) return { values: null, errors };
  return {
    values: {
      budget: budget as bigint,
      validatorFee: validatorFee as bigint,
      collateral: collateral as bigint,
      runTimeout: runTimeout as number,
      mode: form.mode,
      committeeSize: committeeSize as number,
      samplesPerValidator: samplesPerValidator as number,
      verifyBlocks: verifyBlocks as number,
      reopenOnFailure: form.reopenOnFailure,
    },
    errors,
  };
}

/** The struct `postJob` takes; `resultKey` is a confidential job's requester X25519 public key (zero: clear). */
export function buildJobSpec(
  values: SpecValues,
  requirements: Requirements,
  bundle: ChainCid,
  rates: MarketRates = NO_RATES,
  resultKey: Hex = ZERO_BYTES32,
): PostJobSpec {
  return {
    requester: ZERO_ADDRESS,
    budget: values.budget,
    bundleDigest: bundle.digest as Hex,
    bundleCodec: bundle.codec,
    gpuCount: requirements.gpuCount,
    gpuMemoryMiB: requirements.gpuMemoryMiB,
    gpuClass: requirements.gpuClass,
    cpuCores: requirements.cpuCores,
    memoryMiB: requirements.memoryMiB,
    collateral: values.collateral,
    runTimeout: values.runTimeout,
    mode: MODE_INDEX[values.mode],
    committeeSize: values.committeeSize,
    samplesPerValidator: values.samplesPerValidator,
    verifyBlocks: values.verifyBlocks,
    validatorFee: values.validatorFee,
    reward: 0n,
    protocolFee: protocolFeeOf(values.budget, rates.feeBps),
    reopenOnFailure: values.reopenOnFailure,
    resultKey, // zero for a clear job (docs/confidential.md)
  };
}
