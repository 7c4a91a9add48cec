// A requester's keys, derived from one `personal_sign` signature of a fixed message (docs/confidential.md):
// the X25519 pair that results are sealed to, and each bundle's content key (salted by its public key_salt).
// The signature is the secret: it is kept in this tab's memory only, once per account and chain.
import { getAddress, hexToBytes, type Address, type Hex, type WalletClient } from "viem";
import { signerOf } from "../signer";
import { x25519PublicKey } from "./keySeal";
import { SealingError } from "./errors";
import { forgetKeys, rememberKeys } from "./keySession";
import { hkdfSha256, utf8 } from "./primitives";

const X25519_INFO = "crowdcompute/requester-x25519/v1";
const CONTENT_INFO = "crowdcompute/content-key/v1";

/** The exact text the wallet signs; the same on every device, so the keys are too. */
export function keyMessage(chainId: number | bigint, account: string): string {
  return `crowdcompute encryption key v1\nchain: ${chainId}\naccount: ${getAddress(account)}`;
}

export interface RequesterKeys {
  account: Address;
  chainId: number;
  /** X25519 private key (32 bytes); its public half is the job's `resultKey`. */
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** The content key of a bundle whose public manifest names `keySalt` (32 bytes). */
  contentKey: (keySalt: Uint8Array) => Promise<Uint8Array>;
}

/** Derive the keys from the 65-byte signature of `keyMessage(chainId, account)`. */
export async function deriveRequesterKeys(signature: Hex | Uint8Array, chainId: number, account: string): Promise<RequesterKeys> {
  const sig = typeof signature === "string" ? hexToBytes(signature) : signature;
  if (sig.length !== 65) throw new SealingError("key signature", "bad format", `a personal_sign signature is 65 bytes, not ${sig.length}`);
  const privateKey = await hkdfSha256(sig, new Uint8Array(0), utf8(X25519_INFO));
  return {
    account: getAddress(account),
    chainId,
    privateKey,
    publicKey: await x25519PublicKey(privateKey),
    contentKey: async (keySalt) => {
      if (keySalt.length !== 32) throw new SealingError("key_salt", "bad format", `key_salt is 32 bytes, not ${keySalt.length}`);
      return hkdfSha256(sig, keySalt, utf8(CONTENT_INFO));
    },
  };
}

// Per tab, per (chain, account): the wallet is asked once; a refused signature is forgotten so it can be asked again.
const session = new Map<string, Promise<RequesterKeys>>();

/** This tab's keys for `account` on `chainId`, from memory when it already signed, else by asking the wallet. */
export function requesterKeys(walletClient: WalletClient, account: Address, chainId: number): Promise<RequesterKeys> {
  const slot = `${chainId}:${account.toLowerCase()}`;
  let keys = session.get(slot);
  if (!keys) {
    keys = walletClient
      .signMessage({ account: signerOf(walletClient, account), message: keyMessage(chainId, account) })
      .then((signature) => deriveRequesterKeys(signature, chainId, account))
      .then((derived) => {
        rememberKeys(derived);
        return derived;
      });
    keys.catch(() => session.delete(slot));
    session.set(slot, keys);
  }
  return keys;
}

export function forgetRequesterKeys(): void {
  session.clear();
  forgetKeys();
}
