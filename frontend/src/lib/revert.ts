// Contract errors in words: decode revert data against the generated ABIs and describe it the way
// chain/revert_messages.py does, so the dApp and the CLI say the same thing.
import { PANIC_REASONS } from "../generated/panics";
import {
  BaseError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  decodeErrorResult,
  type Abi,
  type Hex,
} from "viem";
import {
  CAPABILITY,
  JOB_SPEC_FIELD,
  JOB_STATUS,
  ROLE,
  VOTE_REASON,
  crowdMarketAbi,
  crowdTokenAbi,
  enumLabel,
} from "./contracts";
import { shortAddress, tokenAmountPlain } from "./format";

export type Fields = Record<string, unknown>;

/** Every custom error either contract can revert with (a post reverts inside the token on a low balance). */
const ERRORS_ABI: Abi = [...crowdMarketAbi, ...crowdTokenAbi].filter((item) => item.type === "error");

export interface DecodedRevert {
  name: string;
  fields: Fields;
  message: string;
}


const addr = (value: unknown) => shortAddress(String(value));
const tokens = (value: unknown) => tokenAmountPlain(BigInt(value as bigint));
const str = (value: unknown) => String(value);
const shortfall = (needed: unknown, held: unknown) => {
  const short = BigInt(needed as bigint) - BigInt(held as bigint);
  return short > 0n ? short : 0n;
};

const CAPABILITY_UNITS: Record<string, [string, string]> = {
  GpuCount: ["{} GPUs", "{}"],
  GpuMemory: ["{} MiB of GPU memory", "{}"],
  GpuClass: ["GPU class {}", "class {}"],
  CpuCores: ["{} CPU cores", "{}"],
  Memory: ["{} MiB of memory", "{}"],
};

function lacksCapability(f: Fields): string {
  const units = CAPABILITY_UNITS[enumLabel(CAPABILITY, f.capability)];
  if (!units) {
    return `job ${str(f.jobId)} needs capability ${str(f.capability)} = ${str(f.required)}; provider ${addr(f.provider)} offers ${str(f.offered)}`;
  }
  const [need, offer] = units;
  return `job ${str(f.jobId)} needs ${need.replace("{}", str(f.required))}; provider ${addr(f.provider)} offers ${offer.replace("{}", str(f.offered))}`;
}

const TEMPLATES: Record<string, (f: Fields) => string> = {
  // Jobs (IJobMarket)
  InvalidJobSpec: (f) =>
    `invalid job spec: ${enumLabel(JOB_SPEC_FIELD, f.field)} is ${str(f.value)}; the limit is ${str(f.limit)}`,
  JobSpecNotCanonical: () => "invalid job spec: a field does not fit its type",
  JobNotInStatus: (f) =>
    `job ${str(f.jobId)} is ${enumLabel(JOB_STATUS, f.actual)}, not ${enumLabel(JOB_STATUS, f.expected)}`,
  JobDataMismatch: (f) =>
    `job ${str(f.jobId)}: the job data sent does not match the chain (rebuild it from the job's events)`,
  NotJobRequester: (f) =>
    `only job ${str(f.jobId)}'s requester ${addr(f.requester)} may do this; caller is ${addr(f.caller)}`,
  NotJobProvider: (f) =>
    `only job ${str(f.jobId)}'s provider ${addr(f.provider)} may do this; caller is ${addr(f.caller)}`,
  RequesterCannotClaim: (f) => `${addr(f.requester)} posted job ${str(f.jobId)} and may not claim it`,
  RequesterCannotVote: (f) => `${addr(f.requester)} posted job ${str(f.jobId)} and may not vote on it`,
  ProviderLacksCapability: lacksCapability,
  SubmitDeadlinePassed: (f) =>
    `job ${str(f.jobId)}'s deadline passed at ${str(f.deadline)}: it can no longer be submitted or released; anyone may expire it now`,
  // Confidential jobs (IJobMarket.releaseClaim, IKeyRelease)
  NotConfidential: (f) =>
    `job ${str(f.jobId)} is not confidential (its spec has no result key): keys and claim releases are only for confidential jobs; a clear job's provider submits or lets the job expire`,
  InvalidEncryptionKey: () => "the encryption key is zero: publish the 32-byte X25519 public half of the node's key pair",
  InvalidSealedKey: (f) => `a sealed key is 1..256 bytes; this one is ${str(f.length)}: send the HPKE \`enc | ciphertext\` of one key`,
  SealedKeyCountMismatch: (f) =>
    `${str(f.recipients)} recipients but ${str(f.sealedKeys)} sealed keys: pass one seal per recipient`,
  DeadlineNotReached: (f) => `job ${str(f.jobId)} can only expire after its deadline ${str(f.deadline)}`,
  EmptyResult: (f) => `job ${str(f.jobId)}: a result needs a nonzero result digest`,
  VotingNotOpen: (f) => `voting on job ${str(f.jobId)} opens at block ${str(f.firstBlock)}`,
  VoteWindowClosed: (f) => `voting on job ${str(f.jobId)} closed after block ${str(f.lastBlock)}`,
  CommitteeSlotOutOfRange: (f) =>
    `job ${str(f.jobId)} has a committee of ${str(f.committeeSize)}; slot ${str(f.slot)} does not exist`,
  NotOnCommittee: (f) =>
    `${addr(f.caller)} is not the validator at committee slot ${str(f.slot)} of job ${str(f.jobId)}`,
  AlreadyVoted: (f) => `committee slot ${str(f.slot)} has already voted on job ${str(f.jobId)}`,
  VoteReasonNeedsRejection: (f) =>
    `job ${str(f.jobId)}: a vote giving the finding ${enumLabel(VOTE_REASON, f.reason)} must reject`,
  VerificationPending: (f) =>
    `job ${str(f.jobId)} is still in its voting or appeal window; it can be finalized after block ${str(f.untilBlock)}`,
  NoFurtherAppeal: (f) => `job ${str(f.jobId)} cannot be appealed: it is in its final round, or it has no committee`,
  AppealNotOpen: (f) => `job ${str(f.jobId)} can be appealed only in blocks ${str(f.fromBlock)}..${str(f.untilBlock)}; not now`,
  NotEntitledToAppeal: (f) =>
    `${str(f.caller)} may not appeal job ${str(f.jobId)}: only its requester, its provider or a seat whose vote lost the round may`,
  SeedUnavailable: (f) =>
    `job ${str(f.jobId)}: the hash of its seed block ${str(f.seedBlock)} cannot be read now`,
  // Accounts and stake (IStaking)
  ZeroAmount: () => "the amount must be more than zero",
  AccountNotInRole: (f) =>
    `${addr(f.account)} is registered as ${enumLabel(ROLE, f.actual)}; this needs ${enumLabel(ROLE, f.expected)}`,
  RoleAlreadyAssigned: (f) => `${addr(f.account)} is already a ${enumLabel(ROLE, f.role)}; roles are exclusive`,
  ValidatorAlreadyRegistered: (f) => `${addr(f.validator)} is already validator number ${str(f.index)}`,
  ValidatorListFull: (f) => `the validator list is full (${str(f.max)} entries)`,
  InsufficientFreeStake: (f) =>
    `${addr(f.account)} has ${tokens(f.available)} of free stake; ${tokens(f.required)} needed`,
  StakeBelowMinimum: (f) => `${addr(f.account)} has ${tokens(f.stake)} staked; the minimum is ${tokens(f.minimum)}`,
  NothingToWithdraw: (f) => `${addr(f.account)} has no balance or reward to withdraw`,
  NothingUnbonding: (f) => `${addr(f.account)} has nothing unbonding`,
  UnbondingLocked: (f) => `${addr(f.account)}'s unbonding stake is released at ${str(f.releaseAt)}`,
  ValidatorIndexOutOfRange: (f) => `there is no validator ${str(f.index)} (the list has ${str(f.count)})`,
  // Governance and pause (IGoverned)
  MarketPaused: () => "the market is paused by its guardian: new posts and claims are refused; running jobs settle and withdrawals work",
  NotGovernor: (f) => `only the market's governor (its timelock) may do this; caller is ${addr(f.caller)}`,
  NotGuardian: (f) => `only the market's guardian may do this; caller is ${addr(f.caller)}`,
  InvalidGovernor: () => "the market needs a governor (a nonzero timelock address)",
  // Deployment (ICrowdMarket) and the token
  InvalidSupply: (f) =>
    `initial supply ${tokens(f.initialSupply)} and cap ${tokens(f.cap)} do not fit (the cap may be at most ${tokens(f.maxCap)})`,
  InvalidRewardBps: (f) => `rewardBps ${str(f.rewardBps)} is above ${str(f.max)}`,
  InvalidFeeBps: (f) =>
    `feeBps ${str(f.feeBps)} must be at most ${str(f.max)} and above rewardBps ${str(f.rewardBps)} (unless rewardBps is 0)`,
  InvalidEpochLength: () => "epochLength must be more than 0 seconds",
  CrowdTokenUnauthorizedMinter: (f) => `${addr(f.caller)} may not mint; only ${addr(f.minter)} can`,
  ERC20InsufficientBalance: (f) =>
    `${addr(f.sender)} holds ${tokens(f.balance)}; ${tokens(f.needed)} needed: ` +
    `send it ${tokens(shortfall(f.needed, f.balance))} more first, or pay less`,
  ERC20InsufficientAllowance: (f) =>
    `${addr(f.spender)} is allowed to spend ${tokens(f.allowance)} of the payer's tokens; ${tokens(f.needed)} needed: ` +
    `approve it for at least ${tokens(f.needed)} first, or pay with an EIP-2612 permit in the same transaction`,
  ERC2612ExpiredSignature: (f) => `the permit expired at ${str(f.deadline)}`,
  ERC2612InvalidSigner: (f) => `the permit was signed by ${addr(f.signer)}, not by ${addr(f.owner)}`,
  ERC20ExceededCap: (f) =>
    `minting would raise the supply to ${tokens(f.increasedSupply)}, over the cap of ${tokens(f.cap)}`,
  ReentrancyGuardReentrantCall: () => "reentrant call refused",
  Error: (f) => str(f.message),
  Panic: (f) => {
    const code = Number(f.code);
    const reason = PANIC_REASONS[code] ?? "unknown panic";
    return `panic 0x${code.toString(16).padStart(2, "0")}: ${reason}`;
  },
};

function plain(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : String(value);
}

/** The sentence for error `name` with decoded `fields`; unknown errors read as `Name(field=value, ...)`. */
export function describeError(name: string, fields: Fields): string {
  const generic = () => `${name}(${Object.entries(fields).map(([k, v]) => `${k}=${plain(v)}`).join(", ")})`;
  const template = TEMPLATES[name];
  if (!template) return generic();
  try {
    return template(fields);
  } catch {
    return generic();
  }
}

/** Decode raw revert data (`0x` + selector + arguments) into a named error with a message, or null. */
export function decodeRevertData(data: Hex): DecodedRevert | null {
  if (!/^0x[0-9a-fA-F]{8}/.test(data)) return null;
  try {
    const decoded = decodeErrorResult({ abi: ERRORS_ABI, data });
    const fields: Fields = {};
    const inputs = decoded.abiItem.type === "error" ? decoded.abiItem.inputs : [];
    (decoded.args ?? []).forEach((value, index) => {
      fields[inputs[index]?.name || String(index)] = value;
    });
    if (decoded.errorName === "Panic") fields.code = (decoded.args ?? [])[0];
    return { name: decoded.errorName, fields, message: describeError(decoded.errorName, fields) };
  } catch {
    return null;
  }
}

function revertDataIn(error: unknown, depth = 0): Hex | null {
  if (!error || typeof error !== "object" || depth > 8) return null;
  if (error instanceof ContractFunctionRevertedError && error.raw) return error.raw;
  const record = error as Record<string, unknown>;
  for (const key of ["data", "raw"]) {
    const value = record[key];
    if (typeof value === "string" && /^0x[0-9a-fA-F]{8}/.test(value)) return value as Hex;
    if (value && typeof value === "object") {
      const inner = revertDataIn(value, depth + 1);
      if (inner) return inner;
    }
  }
  return revertDataIn(record.cause, depth + 1);
}

function isUserRejection(error: unknown): boolean {
  if (error instanceof BaseError && error.walk((e) => e instanceof UserRejectedRequestError)) return true;
  let current: unknown = error;
  for (let depth = 0; current && typeof current === "object" && depth < 8; depth += 1) {
    if ((current as { code?: unknown }).code === 4001) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** What went wrong with a wallet request or a transaction, in one sentence a person can act on. */
export function explainError(error: unknown): string {
  if (isUserRejection(error)) return "You rejected the request in your wallet.";
  const data = revertDataIn(error);
  if (data) {
    const decoded = decodeRevertData(data);
    if (decoded) return decoded.message;
  }
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.reason) return reverted.reason;
    return error.shortMessage || error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
