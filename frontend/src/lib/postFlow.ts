// Posting a job, step by step: sign and upload the bundle, allow the escrow and post the spec on chain, wait
// for the index.
import { parseEventLogs, type Address, type Hash, type PublicClient, type WalletClient } from "viem";
import { api } from "./api";
import { crowdMarketAbi, type PostJobSpec } from "./contracts";
import { escrowOf } from "./jobSpec";
import { allowPayment, type PaymentMethod } from "./payment";
import { signerOf } from "./signer";
import { signedRequestHeaders, type RequestTypedData } from "./signing";
import { uploadBundle, uploadTarget, type UploadResult } from "./upload";

export interface UploadRequest {
  walletClient: WalletClient;
  account: Address;
  chainId: number;
  body: Blob;
  filename: string;
  onSigned?: () => void;
  onProgress?: (sent: number, total: number) => void;
}

/** Sign the gateway's `Request` for POST /bundles (naming the bundle's SHA-256 and this gateway) in the
 * wallet, then upload with progress. */
export async function signAndUpload(request: UploadRequest): Promise<UploadResult> {
  const sign = (typed: RequestTypedData) =>
    request.walletClient.signTypedData({
      account: signerOf(request.walletClient, request.account),
      domain: typed.domain,
      types: typed.types,
      primaryType: typed.primaryType,
      message: typed.message,
    });
  const target = await uploadTarget(request.body);
  const headers = await signedRequestHeaders(sign, request.account, request.chainId, "POST", "/bundles", target);
  request.onSigned?.();
  return uploadBundle({
    body: request.body,
    filename: request.filename,
    headers,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  });
}

export interface PostRequest {
  publicClient: PublicClient;
  walletClient: WalletClient;
  account: Address;
  market: Address;
  spec: PostJobSpec;
  /** Called with how the escrow will be allowed, before the wallet is asked to sign a permit or an approve. */
  onPayment?: (method: PaymentMethod) => void;
  /** Called once the market may take the escrow, before the wallet is asked to send the post. */
  onAllowed?: (method: PaymentMethod) => void;
  onSent?: (hash: Hash) => void;
}

export interface PostedJob {
  jobId: bigint;
  hash: Hash;
  /** How the market was allowed to take the escrow, and the approve transaction if one was sent. */
  payment: PaymentMethod;
  approveHash: Hash | null;
}

/**
 * Allow the market to take the escrow (`allowPayment`: the standing allowance, else a permit signed in the
 * wallet, else an approve of exactly the escrow), simulate `postJob(spec)` (or `postJobWithPermit` carrying
 * the permit) so a revert is decoded before anything is sent, send it from the wallet, wait for the receipt
 * and return the new job's id from its `JobPosted` event.
 */
export async function postJob(request: PostRequest): Promise<PostedJob> {
  const { spec } = request;
  const allowed = await allowPayment({
    publicClient: request.publicClient,
    walletClient: request.walletClient,
    account: request.account,
    market: request.market,
    amount: escrowOf(spec.budget, spec.committeeSize, spec.validatorFee, spec.protocolFee),
    ...(request.onPayment ? { onMethod: request.onPayment } : {}),
  });
  request.onAllowed?.(allowed.method);
  const { permit } = allowed;
  const signer = signerOf(request.walletClient, request.account);
  const chain = request.walletClient.chain ?? null;
  let hash: Hash;
  if (permit) {
    const { request: call } = await request.publicClient.simulateContract({
      address: request.market,
      abi: crowdMarketAbi,
      functionName: "postJobWithPermit",
      args: [spec, permit.deadline, permit.v, permit.r, permit.s],
      account: request.account,
    });
    hash = await request.walletClient.writeContract({ ...call, account: signer, chain });
  } else {
    const { request: call } = await request.publicClient.simulateContract({
      address: request.market,
      abi: crowdMarketAbi,
      functionName: "postJob",
      args: [spec],
      account: request.account,
    });
    hash = await request.walletClient.writeContract({ ...call, account: signer, chain });
  }
  request.onSent?.(hash);
  const receipt = await request.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 1_000 });
  if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
  const [posted] = parseEventLogs({ abi: crowdMarketAbi, logs: receipt.logs, eventName: "JobPosted" });
  if (!posted) throw new Error("the transaction succeeded but emitted no JobPosted event");
  return { jobId: posted.args.jobId, hash, payment: allowed.method, approveHash: allowed.approveHash };
}

/** Poll the gateway until its index has job `jobId` (true), or give up after `timeoutMs` (false). */
export async function waitForIndexedJob(jobId: bigint, timeoutMs = 60_000, intervalMs = 1_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const result = await api.GET("/jobs/{job_id}", { params: { path: { job_id: Number(jobId) } } });
      if (result.response.ok) return true;
    } catch {
      // the gateway may be restarting; keep polling
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
