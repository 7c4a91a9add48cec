// The chain-facing rules of confidential jobs the dApp applies: which jobs are confidential, the key window of a
// claim, the allowlist, and whose seal of the result key the requester trusts.
import { zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { Job } from "../../src/lib/contracts";
import { buildJobSpec, type SpecValues } from "../../src/lib/jobSpec";
import { parseAllowlist } from "../../src/lib/sealing/allowlist";
import { isConfidential, keyWindowEnd, resultKeyOf, type KeyEvent } from "../../src/lib/sealing/keyRelease";
import { resultKeySeal } from "../../src/lib/sealing/resultDownload";
import { ZERO_JOB_STATE } from "../../src/generated/jobLayout";

const REQUESTER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" as Address;
const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const RESULT_KEY = `0x${"63".repeat(32)}` as Hex;

const VALUES: SpecValues = {
  budget: 10n,
  validatorFee: 1n,
  collateral: 5n,
  runTimeout: 400,
  mode: "segments",
  committeeSize: 3,
  samplesPerValidator: 1,
  verifyBlocks: 20,
  reopenOnFailure: true,
};
const REQUIREMENTS = { gpuCount: 0, gpuMemoryMiB: 0, gpuClass: 0, cpuCores: 1, memoryMiB: 1024 };
const BUNDLE = { digest: `0x${"ab".repeat(32)}` as Hex, codec: 0x55, version: 1 as const };

function claimedJob(resultKey?: Hex): Job {
  const spec = { ...buildJobSpec(VALUES, REQUIREMENTS, BUNDLE, undefined, resultKey), requester: REQUESTER };
  return { spec, state: { ...ZERO_JOB_STATE, provider: PROVIDER, deadline: 10_400n } } as Job;
}

describe("confidential job specs", () => {
  it("carry the requester's X25519 key as resultKey; a clear post carries zero", () => {
    expect(resultKeyOf(claimedJob(RESULT_KEY))).toBe(RESULT_KEY);
    expect(isConfidential(claimedJob(RESULT_KEY))).toBe(true);
    expect(resultKeyOf(claimedJob())).toBe(zeroHash);
    expect(isConfidential(claimedJob())).toBe(false);
  });

  it("record a released key only in the first quarter of the run timeout after the claim", () => {
    // deadline 10,400 = claim at 10,000 + runTimeout 400: the window ends at 10,100.
    expect(keyWindowEnd(claimedJob(RESULT_KEY))).toBe(10_100n);
  });
});

describe("parseAllowlist", () => {
  it("takes addresses one a line or comma separated, once each", () => {
    expect(parseAllowlist(`${PROVIDER}\n${OTHER.toLowerCase()}, ${PROVIDER}`)).toEqual({
      addresses: [PROVIDER.toLowerCase(), OTHER.toLowerCase()],
      error: null,
    });
    expect(parseAllowlist("")).toEqual({ addresses: [], error: null });
  });

  it("names what is not an address", () => {
    expect(parseAllowlist(`${PROVIDER} 0x1234`).error).toBe('"0x1234" is not an address (0x and 40 hex digits)');
  });
});

describe("resultKeySeal", () => {
  const sealed = (sender: Address, recipient: Address, blockNumber: bigint, sealedKey: Hex = "0x01"): KeyEvent => ({
    kind: "sealed",
    sender,
    recipient,
    sealedKey,
    blockNumber,
  });

  it("trusts only the job's provider's seal to the requester, the newest", () => {
    const job = claimedJob(RESULT_KEY);
    const events: KeyEvent[] = [
      sealed(PROVIDER, REQUESTER, 5n, "0x05"),
      sealed(OTHER, REQUESTER, 6n, "0x06"),
      sealed(PROVIDER, OTHER, 7n, "0x07"),
      sealed(PROVIDER, REQUESTER, 8n, "0x08"),
      sealed(REQUESTER, PROVIDER, 9n, "0x09"),
    ];
    expect(resultKeySeal(events, job)?.sealedKey).toBe("0x08");
    expect(resultKeySeal(events.slice(1, 3), job)).toBeNull();
    expect(resultKeySeal([], { ...job, state: { ...job.state, provider: zeroAddress } })).toBeNull();
  });
});
