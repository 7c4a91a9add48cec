// Confidential jobs on chain: the KeyRelease contract's reads (its address, accounts' encryption keys, a job's
// key events) and the requester's two writes (release the content key to a claimant, pre-seal it to an allowlist).
import { bytesToHex, hexToBytes, parseEventLogs, type Address, type Hash, type Hex, type PublicClient, type WalletClient } from "viem";
import { api } from "../api";
import { ZERO_BYTES32, type Job } from "../contracts";
import { signerOf } from "../signer";
import { SealingError } from "./errors";
import { keyReleaseAbi, marketKeyReleaseAbi } from "./keyReleaseAbi";
import { sealKey } from "./keySeal";

/** `spec.resultKey`: the requester's X25519 public key, zero for a clear job (read loosely until the ABI has it). */
export function resultKeyOf(job: Job): Hex {
  return (job.spec as { resultKey?: Hex }).resultKey ?? ZERO_BYTES32;
}

export function isConfidential(job: Job): boolean {
  return BigInt(resultKeyOf(job)) !== 0n;
}

/** The last second a released key is recorded for the current claim: a quarter of the run timeout after it. */
export function keyWindowEnd(job: Job): bigint {
  const runTimeout = BigInt(job.spec.runTimeout);
  return BigInt(job.state.deadline) - runTimeout + runTimeout / 4n;
}

export function keyReleaseAddress(client: PublicClient, market: Address): Promise<Address> {
  return client.readContract({ address: market, abi: marketKeyReleaseAbi, functionName: "keyRelease" });
}

/** `account`'s published X25519 key (32 bytes; all zero when none). */
export async function encryptionKeyOf(client: PublicClient, keyRelease: Address, account: Address): Promise<Uint8Array> {
  const key = await client.readContract({ address: keyRelease, abi: keyReleaseAbi, functionName: "encryptionKeyOf", args: [account] });
  return hexToBytes(key);
}

/** The bundle's key_salt, from its public manifest as the gateway reads it. */
export async function keySaltOf(bundleCid: string): Promise<Uint8Array> {
  const { data } = await api.GET("/bundles/{cid}/manifest", { params: { path: { cid: bundleCid } } });
  const sealed = (data as { manifest?: { sealed?: { key_salt?: unknown } }; sealed?: { key_salt?: unknown } } | undefined) ?? {};
  const salt = sealed.manifest?.sealed?.key_salt ?? sealed.sealed?.key_salt;
  if (typeof salt !== "string" || !/^[0-9a-f]{64}$/.test(salt)) {
    throw new SealingError("job.toml", "bad format", `the public manifest of ${bundleCid} has no [sealed] key_salt`);
  }
  return hexToBytes(`0x${salt}`);
}

export type KeyEvent =
  | { kind: "released"; provider: Address; deadline: bigint; recorded: boolean; sealedKey: Hex; blockNumber: bigint }
  | { kind: "sealed"; sender: Address; recipient: Address; sealedKey: Hex; blockNumber: bigint };

/** `KeyReleased` and `KeySealed` of job `jobId`, in chain order. */
export async function keyEvents(client: PublicClient, keyRelease: Address, jobId: bigint, fromBlock = 0n): Promise<KeyEvent[]> {
  const logs = await client.getLogs({ address: keyRelease, fromBlock, toBlock: "latest" });
  const parsed = parseEventLogs({ abi: keyReleaseAbi, logs, strict: true });
  const out: KeyEvent[] = [];
  for (const log of parsed) {
    const blockNumber = BigInt(log.blockNumber ?? 0n);
    if (log.eventName === "KeyReleased" && log.args.jobId === jobId) {
      const { provider, deadline, recorded, sealedKey } = log.args;
      out.push({ kind: "released", provider, deadline, recorded, sealedKey, blockNumber });
    } else if (log.eventName === "KeySealed" && log.args.jobId === jobId) {
      const { sender, recipient, sealedKey } = log.args;
      out.push({ kind: "sealed", sender, recipient, sealedKey, blockNumber });
    }
  }
  return out;
}

interface Sender {
  publicClient: PublicClient;
  walletClient: WalletClient;
  account: Address;
  keyRelease: Address;
}

async function send(sender: Sender, call: { functionName: "releaseKey" | "publishKeys"; args: readonly unknown[] }) {
  const { request } = await sender.publicClient.simulateContract({
    address: sender.keyRelease,
    abi: keyReleaseAbi,
    functionName: call.functionName,
    args: call.args as never,
    account: sender.account,
  });
  const hash: Hash = await sender.walletClient.writeContract({
    ...request,
    account: signerOf(sender.walletClient, sender.account),
    chain: sender.walletClient.chain ?? null,
  });
  const receipt = await sender.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 1_000 });
  if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
  return { hash, blockNumber: receipt.blockNumber, logs: receipt.logs };
}

/** Seal `contentKey` to each of `recipients`' published keys; refuses (before anything is sent) one without a key. */
export async function sealToAccounts(sender: Sender, chainId: number, jobId: bigint, recipients: Address[], contentKey: Uint8Array) {
  const sealed: Hex[] = [];
  for (const recipient of recipients) {
    const key = await encryptionKeyOf(sender.publicClient, sender.keyRelease, recipient);
    if (key.every((byte) => byte === 0)) {
      throw new SealingError(recipient, "refused", "has no encryption key registered (its node publishes one at start)");
    }
    const seal = await sealKey(key, contentKey, { chainId, jobId, to: recipient });
    sealed.push(bytesToHex(seal));
  }
  return sealed;
}

/** Pre-seal the content key to allowlisted providers right after the post (`publishKeys`). */
export async function publishPreSeals(sender: Sender, chainId: number, jobId: bigint, providers: Address[], contentKey: Uint8Array) {
  const sealed = await sealToAccounts(sender, chainId, jobId, providers, contentKey);
  return send(sender, { functionName: "publishKeys", args: [jobId, providers, sealed] });
}

/** Release the content key to the job's claimant (`releaseKey`); says whether it was recorded inside the window. */
export async function releaseContentKey(sender: Sender, chainId: number, jobId: bigint, job: Job, contentKey: Uint8Array) {
  const [sealed] = await sealToAccounts(sender, chainId, jobId, [job.state.provider], contentKey);
  const sent = await send(sender, { functionName: "releaseKey", args: [jobId, job, sealed] });
  const [event] = parseEventLogs({ abi: keyReleaseAbi, logs: sent.logs, eventName: "KeyReleased" });
  return { ...sent, recorded: event?.args.recorded ?? false };
}
