// Key seals (docs/confidential.md): HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM,
// info naming the chain, the job and the recipient, empty aad. A sealed key is `enc (32 bytes) | ciphertext`.
import { Aes128Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256, X25519, HkdfSha256 as X25519Hkdf } from "@hpke/dhkem-x25519";
import { SealingError } from "./errors";
import { concatBytes, ownBytes, utf8 } from "./primitives";

const ENC_SIZE = 32;

let cachedSuite: CipherSuite | null = null;
function suite(): CipherSuite {
  cachedSuite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  return cachedSuite;
}

/** Where a sealed key belongs: it opens only for this chain, job and recipient account. */
export interface SealTarget {
  chainId: number | bigint;
  jobId: number | bigint;
  /** The recipient's account address (any case; lowercased in the info). */
  to: string;
}

export function keySealInfo(target: SealTarget): string {
  return `crowdcompute/key-seal/v1|chain=${target.chainId}|job=${target.jobId}|to=${target.to.toLowerCase()}`;
}

/** The X25519 public key (32 bytes) of a 32-byte private key. */
export async function x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const primitives = new X25519(new X25519Hkdf());
  const key = await primitives.importKey("raw", ownBytes(privateKey).buffer, false);
  return new Uint8Array(await primitives.serializePublicKey(await primitives.derivePublicKey(key)));
}

/** Seal `payload` (a content key, a result key, or both) to the X25519 public key `recipientKey`. */
export async function sealKey(recipientKey: Uint8Array, payload: Uint8Array, target: SealTarget): Promise<Uint8Array<ArrayBuffer>> {
  if (recipientKey.length !== 32 || recipientKey.every((byte) => byte === 0)) {
    throw new SealingError("sealed key", "refused", `${target.to} has no encryption key registered`);
  }
  const publicKey = await suite().kem.deserializePublicKey(ownBytes(recipientKey));
  const { enc, ct } = await suite().seal({ recipientPublicKey: publicKey, info: utf8(keySealInfo(target)) }, ownBytes(payload));
  return concatBytes(new Uint8Array(enc), new Uint8Array(ct));
}

/** Open a sealed key with the recipient's X25519 private key; `expectedSize` is 32 or 64 bytes. */
export async function openKey(privateKey: Uint8Array, sealed: Uint8Array, target: SealTarget, expectedSize = 32): Promise<Uint8Array<ArrayBuffer>> {
  if (sealed.length <= ENC_SIZE + 16) {
    throw new SealingError("sealed key", "truncated", `${sealed.length} bytes: too short for a sealed key`);
  }
  const recipientKey = await suite().kem.importKey("raw", ownBytes(privateKey).buffer, false);
  let plain: ArrayBuffer;
  try {
    plain = await suite().open({ recipientKey, enc: ownBytes(sealed.subarray(0, ENC_SIZE)), info: utf8(keySealInfo(target)) }, ownBytes(sealed.subarray(ENC_SIZE)));
  } catch {
    throw new SealingError(
      "sealed key",
      "wrong key or tampered",
      `does not open for ${target.to.toLowerCase()} on job ${target.jobId}: sealed to another key, job or account, or changed`,
    );
  }
  if (plain.byteLength !== expectedSize) {
    throw new SealingError("sealed key", "bad format", `holds ${plain.byteLength} bytes, not the ${expectedSize} expected`);
  }
  return new Uint8Array(plain);
}
