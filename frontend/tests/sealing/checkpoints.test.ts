// The browser's check of an opened result against the chain: the same Merkle root as jobs/commitments.py, and
// the listed digests, their count and the result CID bound to the stored resultHash.
import { bytesToHex, sha256, toBytes } from "viem";
import { describe, expect, it } from "vitest";
import { cidFromChain } from "../../src/lib/cid";
import { resultHash } from "../../src/lib/jobData";
import { checkCommitment, listedDigests, merkleRoot } from "../../src/lib/sealing/checkpoints";

const leaf = (i: number) => toBytes(sha256(toBytes(`leaf ${i}`)));
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leaf(i));

describe("merkleRoot", () => {
  // jobs.commitments.merkle_root of sha256("leaf i"), i < n.
  const PYTHON: Record<number, string> = {
    0: "0000000000000000000000000000000000000000000000000000000000000000",
    1: "20e325f06280f9d0d193fed01a0eda5bef79063f2e602d93e3605cbe825d96ad",
    2: "06f4672c8871ec3b0085b38a1682a938005d5fa05ef1366bf23b5f9eb46ff543",
    3: "3ee41213e35a6d399dd8365d2bb2340693bebea8916a1340e4c0f1edd25ed4c7",
    5: "525eadc160e2e757c95a2884f366ac21b98a484a71c228dcb4e2933307f21244",
    7: "90644f8fa1560c3d186d6fdcc66586588e065c51eb517f8b567ee7886925d8fb",
  };
  for (const [n, root] of Object.entries(PYTHON)) {
    it(`gives Python's root for ${n} leaves`, async () => {
      expect(bytesToHex(await merkleRoot(leaves(Number(n))))).toBe(`0x${root}`);
    });
  }
});

describe("checkCommitment", () => {
  const digests = leaves(3);
  const manifest = JSON.stringify({ checkpoints: digests.map((d, index) => ({ index, digest: bytesToHex(d).slice(2), file: `step-${index}.pt` })).reverse() });
  const DIGEST = `0x${"ab".repeat(32)}` as const;
  const cid = cidFromChain(DIGEST, 0x55);

  it("accepts the listed digests the provider committed with this result", async () => {
    const root = bytesToHex(await merkleRoot(digests));
    const committed = resultHash(DIGEST, 0x55, root, 3);
    expect(await checkCommitment(manifest, cid, committed)).toEqual({ count: 3, root });
  });

  it("refuses a listing, a count or a result CID that differs from the commitment", async () => {
    const root = bytesToHex(await merkleRoot(digests));
    await expect(checkCommitment(manifest, cid, resultHash(DIGEST, 0x55, root, 4))).rejects.toThrow(
      /^checkpoints\/manifest\.json: lists 3 checkpoint digests under root 0x.*the result is not what was verified$/,
    );
    const other = cidFromChain(`0x${"cd".repeat(32)}`, 0x55);
    await expect(checkCommitment(manifest, other, resultHash(DIGEST, 0x55, root, 3))).rejects.toThrow(/not what the provider committed/);
    await expect(checkCommitment(null, cid, resultHash(DIGEST, 0x55, root, 3))).rejects.toThrow(/lists 0 checkpoint digests/);
  });

  it("names a malformed listing", () => {
    expect(() => listedDigests("{")).toThrow("checkpoints/manifest.json: is not valid JSON");
    expect(() => listedDigests(JSON.stringify({ checkpoints: [{ index: 1, digest: "00".repeat(32) }] }))).toThrow(/without gaps/);
  });
});
