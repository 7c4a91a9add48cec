// The sealed stream of docs/confidential.md: a header, then the plaintext in AES-256-GCM chunks under a subkey
// bound to the file's context. Sealing and opening read a Blob one chunk at a time (Blob.slice), so a big file
// never sits whole in memory; the output is a Blob made of the chunks.
import { SealingError } from "./errors";
import { aesKey, concatBytes, hkdfSha256, randomBytes, utf8 } from "./primitives";

export const STREAM_MAGIC = "CCSEAL1\n";
export const STREAM_VERSION = 1;
export const DEFAULT_CHUNK_LOG2 = 20;
export const HEADER_SIZE = 8 + 1 + 1 + 16;
const TAG_SIZE = 16;
// Chunks read and sealed at once: WebCrypto works off the main thread, so a few in flight keep the cores busy
// while memory stays bounded by this many chunks.
const IN_FLIGHT = 4;
// The range jobs/sealing/stream.py accepts.
const MIN_CHUNK_LOG2 = 10;
const MAX_CHUNK_LOG2 = 26;

export interface SealOptions {
  chunkLog2?: number;
  /** The header's 16-byte salt; random unless given (tests and vectors). */
  salt?: Uint8Array;
  onProgress?: (done: number, total: number) => void;
}

function streamHeader(chunkLog2: number, salt: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(utf8(STREAM_MAGIC), new Uint8Array([STREAM_VERSION, chunkLog2]), salt);
}

/** nonce = u64_be(index) | u32_be(final ? 1 : 0) */
function chunkNonce(index: number, final: boolean): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setBigUint64(0, BigInt(index));
  view.setUint32(8, final ? 1 : 0);
  return nonce;
}

async function streamKey(key: Uint8Array, salt: Uint8Array, context: string): Promise<CryptoKey> {
  if (key.length !== 32) throw new SealingError("key", "bad format", `a content or result key is 32 bytes, not ${key.length}`);
  return aesKey(await hkdfSha256(key, salt, utf8(`crowdcompute/stream/v1|${context}`)));
}

async function sliceBytes(blob: Blob, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** Seal `plain` under `key` for `context` (e.g. `result|chain=..|job=..|attempt=..|path=..`). */
export async function sealStream(key: Uint8Array, context: string, plain: Blob, options: SealOptions = {}): Promise<Blob> {
  const chunkLog2 = options.chunkLog2 ?? DEFAULT_CHUNK_LOG2;
  if (!Number.isInteger(chunkLog2) || chunkLog2 < MIN_CHUNK_LOG2 || chunkLog2 > MAX_CHUNK_LOG2) {
    throw new SealingError("stream", "bad format", `chunk_log2 must be ${MIN_CHUNK_LOG2}..${MAX_CHUNK_LOG2}, not ${chunkLog2}`);
  }
  const salt = options.salt ?? randomBytes(16);
  if (salt.length !== 16) throw new SealingError("stream", "bad format", "the stream salt is 16 bytes");
  const header = streamHeader(chunkLog2, salt);
  const subkey = await streamKey(key, salt, context);
  const size = 2 ** chunkLog2;
  // The final chunk is always shorter than a whole one: an empty final chunk follows a multiple of the size.
  const whole = Math.floor(plain.size / size);
  const parts: BlobPart[] = [header];
  const sealChunk = async (index: number) => {
    const final = index === whole;
    const data = await sliceBytes(plain, index * size, final ? plain.size : (index + 1) * size);
    return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: chunkNonce(index, final), additionalData: header }, subkey, data));
  };
  for (let first = 0; first <= whole; first += IN_FLIGHT) {
    const batch = Array.from({ length: Math.min(IN_FLIGHT, whole + 1 - first) }, (_, offset) => sealChunk(first + offset));
    parts.push(...(await Promise.all(batch)));
    options.onProgress?.(Math.min(plain.size, (first + batch.length) * size), plain.size);
  }
  return new Blob(parts);
}

async function openChunk(subkey: CryptoKey, header: Uint8Array<ArrayBuffer>, index: number, final: boolean, data: Uint8Array<ArrayBuffer>) {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: chunkNonce(index, final), additionalData: header }, subkey, data));
  } catch {
    return null;
  }
}

/** Open the sealed stream `sealed` (named `name` in errors) under `key` for `context`; throws `SealingError`. */
export async function openStream(key: Uint8Array, context: string, sealed: Blob, name: string): Promise<Blob> {
  if (sealed.size < HEADER_SIZE) {
    throw new SealingError(name, sealed.size === 0 ? "not sealed" : "truncated", `${sealed.size} bytes: shorter than a sealed stream's header`);
  }
  const header = await sliceBytes(sealed, 0, HEADER_SIZE);
  if (new TextDecoder().decode(header.subarray(0, 8)) !== STREAM_MAGIC) {
    throw new SealingError(name, "not sealed", "not a sealed stream (no CCSEAL1 header)");
  }
  if (header[8] !== STREAM_VERSION) throw new SealingError(name, "bad format", `sealed stream version ${header[8]}; this dApp reads version 1`);
  const chunkLog2 = header[9] as number;
  if (chunkLog2 < MIN_CHUNK_LOG2 || chunkLog2 > MAX_CHUNK_LOG2) throw new SealingError(name, "bad format", `chunk_log2 ${chunkLog2} is out of range`);
  const subkey = await streamKey(key, header.subarray(10, 26), context);
  const whole = 2 ** chunkLog2 + TAG_SIZE;
  const body = sealed.size - HEADER_SIZE;
  const full = Math.floor(body / whole);
  const rest = body - full * whole;
  const parts: BlobPart[] = [];
  const openWhole = async (index: number) => {
    const start = HEADER_SIZE + index * whole;
    return openChunk(subkey, header, index, false, await sliceBytes(sealed, start, start + whole));
  };
  for (let first = 0; first < full; first += IN_FLIGHT) {
    const batch = await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, full - first) }, (_, offset) => openWhole(first + offset)));
    const failed = batch.indexOf(null);
    if (failed === -1) {
      parts.push(...(batch as Uint8Array<ArrayBuffer>[]));
      continue;
    }
    const index = first + failed;
    if (index === 0) {
      throw new SealingError(name, "wrong key or tampered", "does not open: wrong key, a ciphertext moved from another job or file, or changed data");
    }
    throw new SealingError(name, "wrong key or tampered", `chunk ${index} does not open: the data was changed`);
  }
  if (rest < TAG_SIZE) {
    throw new SealingError(name, "truncated", "truncated: the stream ends without its final chunk");
  }
  const data = await sliceBytes(sealed, sealed.size - rest, sealed.size);
  const plain = await openChunk(subkey, header, full, true, data);
  if (!plain) {
    if (full === 0) {
      throw new SealingError(name, "wrong key or tampered", "does not open: wrong key, a ciphertext moved from another job or file, or changed data");
    }
    throw new SealingError(name, "wrong key or tampered", "the final chunk does not open: the stream was cut mid-chunk or changed");
  }
  parts.push(plain);
  return new Blob(parts);
}
