import { describe, expect, it } from "vitest";
import { parseCid } from "../src/lib/cid";
import { buildJobSpec, checkSpecForm, escrowOf, formFromManifest, requirementsOf, type SpecForm } from "../src/lib/jobSpec";
import { checkManifest } from "../src/lib/manifest";
import { VALID } from "./fixtures/manifests";

const manifest = checkManifest(`${VALID}\n[payment]\nbudget = "12.5"\nvalidator_fee = 2\ncollateral = 6\n`).manifest;
const base: SpecForm = formFromManifest(manifest);

describe("the post form", () => {
  it("starts from the manifest's numbers", () => {
    expect(base).toMatchObject({ budget: "12.5", validatorFee: "2", collateral: "6", runTimeout: "600", mode: "segments", committeeSize: "3", samplesPerValidator: "1" });
    expect(requirementsOf(manifest)).toEqual({ gpuCount: 0, gpuMemoryMiB: 0, gpuClass: 0, cpuCores: 1, memoryMiB: 512 });
  });

  it("rounds fractional CPUs up, as the chain takes whole cores", () => {
    expect(requirementsOf(checkManifest(VALID.replace("cpus = 1", "cpus = 1.5")).manifest).cpuCores).toBe(2);
  });

  it("computes the escrow as budget + committee × fee", () => {
    const { values } = checkSpecForm(base);
    expect(values).not.toBeNull();
    expect(escrowOf(values!.budget, values!.committeeSize, values!.validatorFee)).toBe(18_500_000_000_000_000_000n);
  });

  it.each<[Partial<SpecForm>, string, RegExp]>([
    [{ budget: "0" }, "budget", /more than 0/],
    [{ budget: "abc" }, "budget", /number of tokens/],
    [{ collateral: "5.99" }, "collateral", /cover the committee/],
    [{ committeeSize: "17" }, "committeeSize", /<= 15/],
    [{ committeeSize: "2" }, "committeeSize", /must be odd/],
    [{ committeeSize: "0" }, "committeeSize", />= 1/],
    [{ samplesPerValidator: "0" }, "samplesPerValidator", />= 1/],
    [{ verifyBlocks: "101" }, "verifyBlocks", /<= 100/],
    [{ runTimeout: "0" }, "runTimeout", />= 1/],
    [{ validatorFee: "0.0000000000000000001" }, "validatorFee", /18 decimal/],
  ])("refuses %o (as postJob would)", (change, field, message) => {
    const check = checkSpecForm({ ...base, ...change });
    expect(check.values).toBeNull();
    expect(check.errors[field as keyof SpecForm]).toMatch(message);
  });

  it("allows an optimistic job without a committee", () => {
    expect(checkSpecForm({ ...base, mode: "none", committeeSize: "0", samplesPerValidator: "0" }).values).not.toBeNull();
  });

  it("builds the JobSpec struct postJob takes", () => {
    const { values } = checkSpecForm(base);
    const cid = parseCid("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
    const spec = buildJobSpec(values!, requirementsOf(manifest), cid);
    expect(spec).toMatchObject({
      budget: 12_500_000_000_000_000_000n,
      bundleDigest: cid.digest,
      bundleCodec: 0x70,
      cpuCores: 1,
      memoryMiB: 512,
      collateral: 6_000_000_000_000_000_000n,
      runTimeout: 600,
      mode: 1,
      committeeSize: 3,
      samplesPerValidator: 1,
      verifyBlocks: 20,
      validatorFee: 2_000_000_000_000_000_000n,
      reward: 0n,
      reopenOnFailure: true,
      resultKey: "0x0000000000000000000000000000000000000000000000000000000000000000", // a clear job
    });
  });
});
