// The requester's download of a confidential result, in the browser: the result key from the provider's
// `KeySealed` to the requester (trusted by its sender: the job's provider), then every file opened.
import { hexToBytes, type Address, type WalletClient } from "viem";
import { apiUrl } from "../api";
import type { Job } from "../contracts";
import { SealingError } from "./errors";
import type { KeyEvent } from "./keyRelease";
import { openKey } from "./keySeal";
import { requesterKeys } from "./requesterKeys";
import { openResult } from "./result";
import { CHECKPOINT_MANIFEST, checkCommitment, type CheckpointMatch } from "./checkpoints";

export type DownloadStep = "keys" | "result key" | "fetching" | "opening" | "checking";

/** The newest seal of the result key from the job's provider to its requester, or null. */
export function resultKeySeal(events: KeyEvent[], job: Job): Extract<KeyEvent, { kind: "sealed" }> | null {
  const provider = job.state.provider.toLowerCase();
  const requester = job.spec.requester.toLowerCase();
  const seals = events.filter(
    (event): event is Extract<KeyEvent, { kind: "sealed" }> =>
      event.kind === "sealed" && event.sender.toLowerCase() === provider && event.recipient.toLowerCase() === requester,
  );
  return seals[seals.length - 1] ?? null;
}

export async function openConfidentialResult(request: {
  walletClient: WalletClient;
  account: Address;
  chainId: number;
  jobId: bigint;
  job: Job;
  events: KeyEvent[];
  resultCid: string;
  onStep?: (step: DownloadStep, detail?: string) => void;
}): Promise<{ tar: Blob; checkpoints: CheckpointMatch }> {
  const { job, jobId, chainId, account } = request;
  if (account.toLowerCase() !== job.spec.requester.toLowerCase()) {
    throw new SealingError("result", "refused", "only the job's requester can open its result: connect that account");
  }
  request.onStep?.("keys");
  const keys = await requesterKeys(request.walletClient, account, chainId);
  request.onStep?.("result key");
  const seal = resultKeySeal(request.events, job);
  if (!seal) {
    throw new SealingError("result key", "refused", `the provider ${job.state.provider} has not sealed the result key to you (no KeySealed from it yet)`);
  }
  const resultKey = await openKey(keys.privateKey, hexToBytes(seal.sealedKey), { chainId, jobId, to: account });
  request.onStep?.("fetching");
  const response = await fetch(apiUrl(`/ipfs/${request.resultCid}`));
  if (!response.ok) throw new SealingError("result", "refused", `the gateway answered ${response.status} for ${request.resultCid}`);
  const sealed = await response.blob();
  request.onStep?.("opening");
  const opened = await openResult(sealed, resultKey, { chainId, jobId, attempt: Number(job.state.attempts) }, (path) => request.onStep?.("opening", path));
  // As for a clear job: the listed checkpoint digests must be what the provider committed with this result.
  request.onStep?.("checking");
  const listing = opened.files.find((file) => file.path === CHECKPOINT_MANIFEST);
  const checkpoints = await checkCommitment(listing ? await listing.data.text() : null, request.resultCid, job.state.resultHash);
  return { tar: opened.tar, checkpoints };
}

/** Hand `blob` to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
