// CIDs as the chain stores them: a sha2-256 digest (bytes32) and a multicodec byte (jobs/cid.py's rules).
import { bytesToHex, hexToBytes, type Hex } from "viem";

export const CODEC_RAW = 0x55;
export const CODEC_DAG_PB = 0x70;
const SHA2_256 = 0x12;
const DIGEST_SIZE = 32;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export interface ChainCid {
  digest: Hex;
  codec: number;
  version: 0 | 1;
}

export class InvalidCidError extends Error {
  override name = "InvalidCidError";
}

function base32Decode(text: string): Uint8Array {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text.toLowerCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new InvalidCidError(`invalid base32 character ${JSON.stringify(char)}`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) throw new InvalidCidError("non-canonical base32 in CID");
  return Uint8Array.from(out);
}

function base32Encode(data: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

function base58Decode(text: string): Uint8Array {
  let number = 0n;
  for (const char of text) {
    const digit = BASE58.indexOf(char);
    if (digit < 0) throw new InvalidCidError(`invalid base58 character ${JSON.stringify(char)}`);
    number = number * 58n + BigInt(digit);
  }
  const body: number[] = [];
  while (number > 0n) {
    body.unshift(Number(number & 0xffn));
    number >>= 8n;
  }
  const zeros = text.length - text.replace(/^1+/, "").length;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

function readVarint(data: Uint8Array, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let pos = start; pos < data.length && shift < 35; pos += 1) {
    const byte = data[pos] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [value, pos + 1];
    shift += 7;
  }
  throw new InvalidCidError("truncated or overlong varint in CID");
}

function fromMultihash(multihash: Uint8Array, codec: number, version: 0 | 1): ChainCid {
  if (multihash[0] !== SHA2_256) throw new InvalidCidError("unsupported hash function (sha2-256 only)");
  if (multihash[1] !== DIGEST_SIZE || multihash.length !== 2 + DIGEST_SIZE) {
    throw new InvalidCidError("malformed sha2-256 multihash");
  }
  return { digest: bytesToHex(multihash.slice(2)), codec, version };
}

/** `Qm...` (v0) or base32 `b...` (v1) into the digest and codec that `postJob` takes. */
export function parseCid(text: string): ChainCid {
  const cid = text.trim();
  if (!cid) throw new InvalidCidError("empty CID");
  if (cid.length === 46 && cid.startsWith("Qm")) return fromMultihash(base58Decode(cid), CODEC_DAG_PB, 0);
  const prefix = cid[0];
  let raw: Uint8Array;
  if (prefix === "b" || prefix === "B") raw = base32Decode(cid.slice(1));
  else if (prefix === "z") raw = base58Decode(cid.slice(1));
  else throw new InvalidCidError(`unsupported CID text ${JSON.stringify(cid.slice(0, 16))}`);
  const [version, afterVersion] = readVarint(raw, 0);
  if (version !== 1) throw new InvalidCidError(`unsupported CID version ${version}`);
  const [codec, afterCodec] = readVarint(raw, afterVersion);
  if (codec !== CODEC_RAW && codec !== CODEC_DAG_PB) {
    throw new InvalidCidError(`unsupported codec 0x${codec.toString(16)} (raw 0x55 and dag-pb 0x70 only)`);
  }
  return fromMultihash(raw.slice(afterCodec), codec, 1);
}

/** The CIDv1 text of a `(digest, codec)` pair read from the chain. */
export function cidFromChain(digest: Hex, codec: number): string {
  const body = hexToBytes(digest);
  if (body.length !== DIGEST_SIZE) throw new InvalidCidError("a CID digest is 32 bytes (sha2-256)");
  return "b" + base32Encode(Uint8Array.from([1, codec, SHA2_256, DIGEST_SIZE, ...body]));
}
