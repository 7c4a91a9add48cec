// The opened result against the chain (jobs/commitments.py): the digests `checkpoints/manifest.json` lists, their
// Merkle root and count, and the result CID must hash to the `resultHash` the provider's `submitResult` stored.
// Files are not re-hashed here (that needs the SDK's torch digest); the CLI's `job download` does that.
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { parseCid } from "../cid";
import { resultHash } from "../jobData";
import { SealingError } from "./errors";
import { concatBytes } from "./primitives";

export const CHECKPOINT_MANIFEST = "checkpoints/manifest.json";
const ZERO_ROOT = new Uint8Array(32);

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concatBytes(data)));
}

/** The root of `leaves`: pairs left to right, parent = sha256(left | right), an odd last node promoted. */
export async function merkleRoot(leaves: Uint8Array[]): Promise<Uint8Array> {
  if (!leaves.length) return ZERO_ROOT;
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(await sha256(concatBytes(level[i] as Uint8Array, level[i + 1] as Uint8Array)));
    if (level.length % 2) next.push(level[level.length - 1] as Uint8Array);
    level = next;
  }
  return level[0] as Uint8Array;
}

/** The digests a checkpoint manifest lists, in index order (as `jobs.commitments.entry_digests`). */
export function listedDigests(text: string): Uint8Array[] {
  const fail = (why: string) => new SealingError(CHECKPOINT_MANIFEST, "bad format", why);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw fail("is not valid JSON");
  }
  const entries = Array.isArray(document) ? document : (document as { checkpoints?: unknown } | null)?.checkpoints;
  if (!Array.isArray(entries)) throw fail("must hold a list under 'checkpoints'");
  const byIndex = new Map<number, Uint8Array>();
  entries.forEach((entry: unknown, position) => {
    const record = typeof entry === "string" ? { index: position, digest: entry } : (entry as { index?: unknown; digest?: unknown });
    const index = record.index ?? position;
    if (typeof record.digest !== "string" || !Number.isInteger(index)) throw fail(`checkpoint ${position}: expected a hex digest`);
    const hex = record.digest.replace(/^0x/, "");
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw fail(`checkpoint ${position}: the digest is not 32 bytes of hex`);
    if (byIndex.has(index as number)) throw fail(`checkpoint index ${index} appears twice`);
    byIndex.set(index as number, hexToBytes(`0x${hex}`));
  });
  const digests: Uint8Array[] = [];
  for (let i = 0; i < byIndex.size; i += 1) {
    const digest = byIndex.get(i);
    if (!digest) throw fail("checkpoint indices must run from 0 without gaps");
    digests.push(digest);
  }
  return digests;
}

export interface CheckpointMatch {
  count: number;
  root: Hex;
}

/** Check the opened checkpoint manifest (null: the result has none) against the job's stored `resultHash`. */
export async function checkCommitment(manifestText: string | null, resultCid: string, committed: Hex): Promise<CheckpointMatch> {
  const digests = manifestText === null ? [] : listedDigests(manifestText);
  const root = bytesToHex(await merkleRoot(digests));
  const cid = parseCid(resultCid);
  if (resultHash(cid.digest, cid.codec, root, digests.length) !== committed) {
    throw new SealingError(
      CHECKPOINT_MANIFEST,
      "refused",
      `lists ${digests.length} checkpoint digests under root ${root}, which is not what the provider committed on chain for ${resultCid}: the result is not what was verified`,
    );
  }
  return { count: digests.length, root };
}
