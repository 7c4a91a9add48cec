// A confidential bundle (docs/confidential.md, "Bundle layout"): a canonical tar of two members, the public
// job.toml (no description, no [runtime] env, plus [sealed]) and `sealed.payload`, the sealed stream of the
// ordinary bundle of the whole folder with its full job.toml.
import { parse, stringify } from "smol-toml";
import { bytesToHex, hexToBytes, type Address } from "viem";
import type { JobFile } from "../archive";
import { MANIFEST_FILENAME } from "../manifest";
import { canonicalTar, tarBlobEntries, type TarBlobEntry } from "./canonicalTar";
import { SealingError } from "./errors";
import { randomBytes } from "./primitives";
import type { RequesterKeys } from "./requesterKeys";
import { openStream, sealStream } from "./stream";

export const SEALED_SCHEME = "crowdcompute-sealed-v1";
export const PAYLOAD_NAME = "sealed.payload";

/** The stream context of a bundle's payload: it opens only for this chain, requester and salt. */
export function bundleContext(chainId: number | bigint, requester: string, keySalt: Uint8Array): string {
  return `bundle|chain=${chainId}|requester=${requester.toLowerCase()}|salt=${bytesToHex(keySalt).slice(2)}`;
}

/** The public job.toml: the requester's without `description` and `[runtime] env`, plus the [sealed] table. */
export function publicManifest(manifestText: string, keySalt: Uint8Array, requester: Address): string {
  const table = parse(manifestText) as Record<string, unknown>;
  delete table.description;
  const runtime = table.runtime as Record<string, unknown> | undefined;
  if (runtime && typeof runtime === "object") delete runtime.env;
  table.sealed = { scheme: SEALED_SCHEME, payload: PAYLOAD_NAME, key_salt: bytesToHex(keySalt).slice(2), requester };
  return `# Public manifest of a confidential job: the job folder is in ${PAYLOAD_NAME}.\n${stringify(table)}\n`;
}

export interface SealBundleRequest {
  files: JobFile[];
  /** The full job.toml (replacing the folder's). */
  manifestText: string;
  keys: RequesterKeys;
  /** Tests only: a fixed key salt. */
  keySalt?: Uint8Array;
  chunkLog2?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SealedBundle {
  /** The two-member tar to upload: only ciphertext and the public manifest leave the browser. */
  body: Blob;
  publicManifest: string;
  keySalt: Uint8Array;
}

export async function sealBundle(request: SealBundleRequest): Promise<SealedBundle> {
  const { keys } = request;
  const keySalt = request.keySalt ?? randomBytes(32);
  const manifest = new Blob([request.manifestText]);
  const clear = canonicalTar([...request.files.filter((file) => file.path !== MANIFEST_FILENAME), { path: MANIFEST_FILENAME, data: manifest }]);
  const payload = await sealStream(await keys.contentKey(keySalt), bundleContext(keys.chainId, keys.account, keySalt), clear, {
    ...(request.chunkLog2 !== undefined ? { chunkLog2: request.chunkLog2 } : {}),
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  });
  const text = publicManifest(request.manifestText, keySalt, keys.account);
  const body = canonicalTar([
    { path: MANIFEST_FILENAME, data: new Blob([text]) },
    { path: PAYLOAD_NAME, data: payload },
  ]);
  return { body, publicManifest: text, keySalt };
}

export interface SealedTable {
  keySalt: Uint8Array;
  requester: string;
}

/** The [sealed] table of a public manifest, or null for a clear job. */
export function sealedTable(manifestText: string): SealedTable | null {
  const table = parse(manifestText) as { sealed?: { scheme?: unknown; key_salt?: unknown; requester?: unknown } };
  const sealed = table.sealed;
  if (!sealed) return null;
  if (sealed.scheme !== SEALED_SCHEME || typeof sealed.key_salt !== "string" || !/^[0-9a-f]{64}$/.test(sealed.key_salt) || typeof sealed.requester !== "string") {
    throw new SealingError(MANIFEST_FILENAME, "bad format", `[sealed] must name scheme "${SEALED_SCHEME}", a 64-hex key_salt and the requester`);
  }
  return { keySalt: hexToBytes(`0x${sealed.key_salt}`), requester: sealed.requester };
}

/** Open a confidential bundle with the requester's keys: the files of the job folder, full job.toml included. */
export async function openBundle(bundle: Blob, keys: RequesterKeys): Promise<TarBlobEntry[]> {
  const members = await tarBlobEntries(bundle, "bundle");
  const manifest = members.find((entry) => entry.path === MANIFEST_FILENAME);
  const payload = members.find((entry) => entry.path === PAYLOAD_NAME);
  if (!manifest || !payload) throw new SealingError("bundle", "not sealed", `a confidential bundle holds ${MANIFEST_FILENAME} and ${PAYLOAD_NAME}`);
  const table = sealedTable(await manifest.data.text());
  if (!table) throw new SealingError("bundle", "not sealed", `${MANIFEST_FILENAME} has no [sealed] table`);
  const clear = await openStream(await keys.contentKey(table.keySalt), bundleContext(keys.chainId, table.requester, table.keySalt), payload.data, PAYLOAD_NAME);
  return tarBlobEntries(clear, PAYLOAD_NAME);
}
