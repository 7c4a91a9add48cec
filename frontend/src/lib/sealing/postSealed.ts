// The confidential steps of posting: unlock the requester's keys, seal the folder, check the allowlist before
// anything is sent, and pre-seal the content key to it once the job id is known.
import { bytesToHex, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { JobFile } from "../archive";
import { SealingError } from "./errors";
import { encryptionKeyOf, keyReleaseAddress, publishPreSeals } from "./keyRelease";
import { requesterKeys, type RequesterKeys } from "./requesterKeys";
import { sealBundle, type SealedBundle } from "./bundle";

export interface SealedUpload {
  keys: RequesterKeys;
  sealed: SealedBundle;
  /** `spec.resultKey`: the requester's X25519 public key. */
  resultKey: Hex;
}

export async function prepareSealedUpload(request: {
  walletClient: WalletClient;
  account: Address;
  chainId: number;
  files: JobFile[];
  manifestText: string;
  onKeys?: () => void;
  onProgress?: (done: number, total: number) => void;
}): Promise<SealedUpload> {
  const keys = await requesterKeys(request.walletClient, request.account, request.chainId);
  request.onKeys?.();
  const sealed = await sealBundle({
    files: request.files,
    manifestText: request.manifestText,
    keys,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  });
  return { keys, sealed, resultKey: bytesToHex(keys.publicKey) };
}

/** Refuse an allowlisted provider without a published encryption key before the upload and the post. */
export async function checkAllowlist(publicClient: PublicClient, market: Address, providers: Address[]): Promise<void> {
  if (!providers.length) return;
  const keyRelease = await keyReleaseAddress(publicClient, market);
  for (const provider of providers) {
    const key = await encryptionKeyOf(publicClient, keyRelease, provider);
    if (key.every((byte) => byte === 0)) {
      throw new SealingError(provider, "refused", "has no encryption key registered; remove it from the allowlist or wait for its node to publish one");
    }
  }
}

export async function preSealToAllowlist(request: {
  publicClient: PublicClient;
  walletClient: WalletClient;
  market: Address;
  upload: Pick<SealedUpload, "keys"> & { keySalt: Uint8Array };
  jobId: bigint;
  providers: Address[];
}) {
  const { keys, keySalt } = request.upload;
  const keyRelease = await keyReleaseAddress(request.publicClient, request.market);
  const sender = { publicClient: request.publicClient, walletClient: request.walletClient, account: keys.account, keyRelease };
  return publishPreSeals(sender, keys.chainId, request.jobId, request.providers, await keys.contentKey(keySalt));
}
