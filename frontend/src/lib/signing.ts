// The gateway's EIP-712 `Request` for writes (api/README.md, "Authentication"; gateway_protocol/signing.py).
import type { Address, Hex } from "viem";

export const GATEWAY_DOMAIN_NAME = "crowdcompute-gateway";
export const GATEWAY_DOMAIN_VERSION = "2";
/** The gateway accepts an expiry at most this far ahead (signature_max_skew_s). */
export const MAX_EXPIRY_AHEAD_S = 300;

export const REQUEST_TYPES = {
  Request: [
    { name: "method", type: "string" },
    { name: "path", type: "string" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "bytes32" },
    { name: "bodyHash", type: "bytes32" },
    { name: "gateway", type: "string" },
  ],
} as const;

export interface RequestMessage {
  method: string;
  path: string;
  expiry: bigint;
  nonce: Hex;
  bodyHash: Hex;
  gateway: string;
}

export interface RequestTypedData {
  domain: { name: string; version: string; chainId: number };
  types: typeof REQUEST_TYPES;
  primaryType: "Request";
  message: RequestMessage;
}

/** Which bytes go to which gateway: the SHA-256 of the uploaded bytes and the gateway's Host. */
export interface RequestTarget {
  bodyHash: Hex;
  gateway: string;
}

/** What the wallet signs for one request: `method` upper case, `path` without the query string. */
export function requestTypedData(
  chainId: number,
  method: string,
  path: string,
  expiry: number,
  nonce: Hex,
  target: RequestTarget,
): RequestTypedData {
  const bare = path.split("?")[0] ?? path;
  return {
    domain: { name: GATEWAY_DOMAIN_NAME, version: GATEWAY_DOMAIN_VERSION, chainId },
    types: REQUEST_TYPES,
    primaryType: "Request",
    message: {
      method: method.toUpperCase(),
      path: bare,
      expiry: BigInt(expiry),
      nonce,
      bodyHash: target.bodyHash,
      gateway: target.gateway.toLowerCase(),
    },
  };
}

/** A `Request`'s `bodyHash`: SHA-256 of the bytes to upload. */
export async function bodyHash(body: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<Hex> {
  const bytes = body instanceof Blob ? await body.arrayBuffer() : body;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `0x${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A `Request`'s `gateway` for a gateway at `url`: the Host header the browser sends there (lower case, no
 * default port), e.g. `127.0.0.1:8000`. */
export function gatewayAuthority(url: string): string {
  return new URL(url).host.toLowerCase();
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

/** The `X-Crowd-*` headers that authorise one request carrying `target.bodyHash`'s bytes to
 * `target.gateway`, signed by `address` through `sign`. */
export async function signedRequestHeaders(
  sign: TypedDataSigner,
  address: Address,
  chainId: number,
  method: string,
  path: string,
  target: RequestTarget,
  options: SignedRequestOptions = {},
): Promise<Record<string, string>> {
  const ttl = Math.min(options.ttlSeconds ?? 120, MAX_EXPIRY_AHEAD_S);
  const expiry = Math.floor((options.now ?? Date.now()) / 1000) + ttl;
  const nonce = options.nonce ?? newNonce();
  const signature = await sign(requestTypedData(chainId, method, path, expiry, nonce, target));
  return {
    "X-Crowd-Address": address,
    "X-Crowd-Expiry": String(expiry),
    "X-Crowd-Nonce": nonce,
    "X-Crowd-Body-Hash": target.bodyHash,
    "X-Crowd-Signature": signature,
  };
}
