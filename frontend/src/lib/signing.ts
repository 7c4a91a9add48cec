// The gateway's EIP-712 `Request` for writes (api/README.md, "Authentication"; gateway_protocol/signing.py).
import type { Address, Hex } from "viem";

export const GATEWAY_DOMAIN_NAME = "crowdcompute-gateway";
export const GATEWAY_DOMAIN_VERSION = "1";
/** The gateway accepts an expiry at most this far ahead (signature_max_skew_s). */
export const MAX_EXPIRY_AHEAD_S = 300;

export const REQUEST_TYPES = {
  Request: [
    { name: "method", type: "string" },
    { name: "path", type: "string" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

export interface RequestMessage {
  method: string;
  path: string;
  expiry: bigint;
  nonce: Hex;
}

export interface RequestTypedData {
  domain: { name: string; version: string; chainId: number };
  types: typeof REQUEST_TYPES;
  primaryType: "Request";
  message: RequestMessage;
}

/** What the wallet signs for one request: `method` upper case, `path` without the query string. */
export function requestTypedData(
  chainId: number,
  method: string,
  path: string,
  expiry: number,
  nonce: Hex,
): RequestTypedData {
  const bare = path.split("?")[0] ?? path;
  return {
    domain: { name: GATEWAY_DOMAIN_NAME, version: GATEWAY_DOMAIN_VERSION, chainId },
    types: REQUEST_TYPES,
    primaryType: "Request",
    message: { method: method.toUpperCase(), path: bare, expiry: BigInt(expiry), nonce },
  };
}

/** 32 random bytes, usable once. */
export function newNonce(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export type TypedDataSigner = (typedData: RequestTypedData) => Promise<Hex>;

export interface SignedRequestOptions {
  ttlSeconds?: number;
  now?: number;
  nonce?: Hex;
}

/** The `X-Crowd-*` headers that authorise one request, signed by `address` through `sign`. */
export async function signedRequestHeaders(
  sign: TypedDataSigner,
  address: Address,
  chainId: number,
  method: string,
  path: string,
  options: SignedRequestOptions = {},
): Promise<Record<string, string>> {
  const ttl = Math.min(options.ttlSeconds ?? 120, MAX_EXPIRY_AHEAD_S);
  const expiry = Math.floor((options.now ?? Date.now()) / 1000) + ttl;
  const nonce = options.nonce ?? newNonce();
  const signature = await sign(requestTypedData(chainId, method, path, expiry, nonce));
  return {
    "X-Crowd-Address": address,
    "X-Crowd-Expiry": String(expiry),
    "X-Crowd-Nonce": nonce,
    "X-Crowd-Signature": signature,
  };
}
